"""Immutable records the store hands to the core: one per table row.

Records carry ciphertext, never plaintext; opening a payload is the core's job
(`lifecycle/versions.py`), so a record can be logged or compared without leaking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class GroupRecord:
    id: str
    name: str
    description: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SecretRecord:
    id: str
    secret_group_id: str
    secret_type: str
    name: str
    description: str | None
    labels: list[str]
    custom_metadata: dict[str, Any]
    attributes: dict[str, Any]
    state: int
    expiration_date: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    retrieved_at: datetime | None
    downloaded: bool
    versions_total: int
    locks_total: int
    next_rotation_date: datetime | None
    client_request_token: str | None
    request_fingerprint: str | None
    next_expiry_notice: datetime | None = None


@dataclass(frozen=True, slots=True)
class VersionRecord:
    id: str
    secret_id: str
    seq: int
    created_by: str
    created_at: datetime
    payload: bytes | None = field(repr=False)
    wrapped_key: bytes | None = field(repr=False)
    key_id: str | None
    custom_metadata: dict[str, Any]
    attributes: dict[str, Any]
    downloaded: bool
    auto_rotated: bool
    client_request_token: str | None
    request_fingerprint: str | None

    @property
    def payload_available(self) -> bool:
        return self.payload is not None


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """What adding a version and retention read of the versions before it: enough to number
    the new one, erase payloads no label or lock needs and drop metadata past the newest 50.
    Reading these instead of whole versions keeps a rotation's reads the same size however
    long the secret's history."""

    id: str
    seq: int
    payload_available: bool


@dataclass(frozen=True, slots=True)
class LockRecord:
    secret_id: str
    version_id: str
    name: str
    description: str | None
    attributes: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    secret_hash: str = field(repr=False)
    role: str
    groups: list[str] | None
    description: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    token_id: str | None
    action: str
    target: str
    outcome: str
    request_id: str | None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ConfigRecord:
    name: str
    config_type: str
    status: str | None
    attributes: dict[str, Any]
    certificate: str | None
    chain: str | None
    csr: str | None
    key_payload: bytes | None = field(repr=False)
    key_wrapped: bytes | None = field(repr=False)
    key_id: str | None
    crl_der: bytes | None = field(repr=False)
    crl_number: int
    crl_next_update: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RetiredKeyRecord:
    """A key a CA signed with before a rotation, kept to sign the CRL of what it issued."""

    ca_name: str
    generation: int
    certificate: str
    not_after: datetime
    key_payload: bytes = field(repr=False)
    key_wrapped: bytes = field(repr=False)
    key_id: str
    crl_der: bytes | None = field(repr=False)
    crl_number: int
    crl_next_update: datetime | None
    retired_at: datetime


@dataclass(frozen=True, slots=True)
class RevocationRecord:
    ca_name: str
    serial: str
    revoked_at: datetime
    secret_id: str | None


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: str
    secret_id: str | None
    kind: str
    trigger: str
    status: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    attempts: int
    run_after: datetime
    lease_owner: str | None
    lease_expires: datetime | None
    fence: int
    last_error_code: str | None
    last_error: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EventRecord:
    at: datetime
    event_type: str
    secret_id: str | None
    secret_group_id: str | None
    secret_type: str | None
    secret_name: str | None
    detail: dict[str, Any]
    id: int | None = None


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    id: str
    url: str
    event_types: list[str]
    key_payload: bytes = field(repr=False)
    key_wrapped: bytes = field(repr=False)
    key_id: str
    description: str | None
    created_by: str
    created_at: datetime
