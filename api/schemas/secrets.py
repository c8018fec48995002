"""Request models for groups, secrets, versions and locks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_time_text(value: Any) -> Any:
    """Only an RFC 3339 date and time: pydantic alone also takes numbers (seconds or
    milliseconds since the epoch, guessed from their size) and a bare date."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        raise PydanticCustomError("date_time", "must be an RFC 3339 date and time, such as 2030-01-31T09:00:00Z")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_date_time_text)]


class GroupPrototype(Strict):
    name: StrictStr
    description: StrictStr | None = None


class GroupPatch(Strict):
    name: StrictStr | None = None
    description: StrictStr | None = None


class RotationPolicy(Strict):
    auto_rotate: StrictBool = False
    interval: StrictInt | None = None
    unit: StrictStr | None = None
    # certkeeper extensions
    schedule: StrictStr | None = None
    window: StrictStr | StrictInt | None = None
    rotate_immediately: StrictBool | None = None
    rotate_keys: StrictBool | None = None
    renew_before: StrictStr | StrictInt | None = None


class PasswordGenerationPolicy(Strict):
    length: StrictInt | None = None
    include_digits: StrictBool | None = None
    include_symbols: StrictBool | None = None
    include_uppercase: StrictBool | None = None


class SecretPrototypeBase(Strict):
    name: StrictStr
    description: StrictStr | None = None
    secret_group_id: StrictStr = "default"
    labels: list[StrictStr] = Field(default_factory=list)
    custom_metadata: dict[str, Any] = Field(default_factory=dict)
    version_custom_metadata: dict[str, Any] = Field(default_factory=dict)
    client_request_token: StrictStr | None = None  # certkeeper extension: idempotent creation


class ArbitraryPrototype(SecretPrototypeBase):
    secret_type: Literal["arbitrary"]
    payload: StrictStr
    expiration_date: Timestamp | None = None


class KVPrototype(SecretPrototypeBase):
    secret_type: Literal["kv"]
    data: dict[str, Any]


class UsernamePasswordPrototype(SecretPrototypeBase):
    secret_type: Literal["username_password"]
    username: StrictStr
    password: StrictStr | None = None
    expiration_date: Timestamp | None = None
    rotation: RotationPolicy | None = None
    password_generation_policy: PasswordGenerationPolicy | None = None


class ManagedCsr(Strict):
    """The contract's ImportedCertificateManagedCsr: the key and CSR certkeeper makes."""

    ou: list[StrictStr] | None = None
    organization: list[StrictStr] | None = None
    country: list[StrictStr] | None = None
    locality: list[StrictStr] | None = None
    province: list[StrictStr] | None = None
    street_address: list[StrictStr] | None = None
    postal_code: list[StrictStr] | None = None
    require_cn: StrictBool | None = None
    common_name: StrictStr | None = None
    alt_names: StrictStr | None = None  # comma-separated, as are the other *_sans and usages
    ip_sans: StrictStr | None = None
    uri_sans: StrictStr | None = None
    other_sans: StrictStr | None = None
    exclude_cn_from_sans: StrictBool | None = None
    user_ids: StrictStr | None = None
    server_flag: StrictBool | None = None
    client_flag: StrictBool | None = None
    code_signing_flag: StrictBool | None = None
    email_protection_flag: StrictBool | None = None
    key_type: StrictStr | None = None
    key_bits: StrictInt | None = None
    key_usage: StrictStr | None = None
    ext_key_usage: StrictStr | None = None
    policy_identifiers: StrictStr | None = None
    ext_key_usage_oids: StrictStr | None = None
    rotate_keys: StrictBool | None = None


class ImportedCertPrototype(SecretPrototypeBase):
    secret_type: Literal["imported_cert"]
    certificate: StrictStr | None = None  # PEM; required unless managed_csr is sent
    intermediate: StrictStr | None = None
    private_key: StrictStr | None = None
    managed_csr: ManagedCsr | None = None


class PrivateCertPrototype(SecretPrototypeBase):
    secret_type: Literal["private_cert"]
    certificate_template: StrictStr
    common_name: StrictStr | None = None
    alt_names: list[StrictStr] | None = None
    ip_sans: StrictStr | list[StrictStr] | None = None  # comma-separated in the contract
    uri_sans: StrictStr | list[StrictStr] | None = None
    other_sans: list[StrictStr] | None = None
    csr: StrictStr | None = None
    format: Literal["pem", "pem_bundle"] | None = None
    private_key_format: Literal["der", "pkcs8"] | None = None
    exclude_cn_from_sans: StrictBool | None = None
    ttl: StrictInt | StrictStr | None = None
    rotation: RotationPolicy | None = None


class PublicCertPrototype(SecretPrototypeBase):
    secret_type: Literal["public_cert"]
    common_name: StrictStr
    alt_names: list[StrictStr] | None = None
    key_algorithm: Literal["RSA2048", "RSA4096", "ECDSA256", "ECDSA384"] | None = None
    ca: StrictStr
    dns: StrictStr
    bundle_certs: StrictBool | None = None
    rotation: RotationPolicy | None = None


SecretPrototype = Annotated[
    ArbitraryPrototype | KVPrototype | UsernamePasswordPrototype | ImportedCertPrototype | PrivateCertPrototype
    | PublicCertPrototype,
    Field(discriminator="secret_type"),
]

COMMON_FIELDS = set(SecretPrototypeBase.model_fields) | {"secret_type", "expiration_date"}


class SecretMetadataPatch(Strict):
    name: StrictStr | None = None
    description: StrictStr | None = None
    labels: list[StrictStr] | None = None
    custom_metadata: dict[str, Any] | None = None
    expiration_date: Timestamp | None = None
    rotation: RotationPolicy | None = None
    password_generation_policy: PasswordGenerationPolicy | None = None
    managed_csr: ManagedCsr | None = None


class SecretVersionPrototype(Strict):
    """No `secret_type` on the wire: the stored secret's type decides which fields count."""

    payload: StrictStr | None = None
    data: dict[str, Any] | None = None
    password: StrictStr | None = None
    csr: StrictStr | None = None
    certificate: StrictStr | None = None
    intermediate: StrictStr | None = None
    private_key: StrictStr | None = None
    custom_metadata: dict[str, Any] | None = None
    version_custom_metadata: dict[str, Any] | None = None
    client_request_token: StrictStr | None = None
    version_stages: list[StrictStr] | None = None  # certkeeper extension
    rotation: RotationPolicy | None = None  # public certificates: {rotate_keys}


class RotateRequest(Strict):
    """POST /api/v2/secrets/{id}/rotate (certkeeper extension)."""

    client_request_token: StrictStr | None = None
    version_stages: list[StrictStr] | None = None


class StageMove(Strict):
    version_id: StrictStr


class WebhookPrototype(Strict):
    url: StrictStr
    event_types: list[StrictStr] = Field(default_factory=list)
    description: StrictStr | None = None


class VersionMetadataPatch(Strict):
    version_custom_metadata: dict[str, Any] | None = None


class LockPrototype(Strict):
    name: StrictStr
    description: StrictStr | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class LocksPrototype(Strict):
    locks: list[LockPrototype]
