"""The generic secret types: arbitrary text, key-value JSON, and username/password."""

from __future__ import annotations

from typing import Any

from lifecycle import passwords
from lifecycle.errors import InvalidInput, PayloadTooLarge
from lifecycle.rules import json_size
from lifecycle.rotation import DEFAULT_ROTATION, rotation_policy
from lifecycle.types.base import HandlerContext, Material
from lifecycle.vocabulary import SecretType

ARBITRARY_MAX_BYTES = 1024 * 1024  # the v2 contract: arbitrary payloads up to 1 MB
KV_MAX_BYTES = 512 * 1024  # the v2 contract: kv data up to 512 KB
USERNAME_MIN, USERNAME_MAX = 2, 64  # the contract's limits for user credentials (limits.md)
PASSWORD_MIN, PASSWORD_MAX = 6, 256


def _string(fields: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = fields.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name}: is required", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: must be a string", field=name)
    return value


class _UserData:
    """Types whose data the user sends whole with every version: no secret-level metadata."""

    def _data(self, fields: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def create(self, fields: dict[str, Any], ctx: HandlerContext) -> Material:
        return Material(self._data(fields), attributes={})

    def new_version(
        self, attributes: dict[str, Any], fields: dict[str, Any], current: dict[str, Any] | None, ctx: HandlerContext
    ) -> Material:
        return Material(self._data(fields))

    def version_metadata(self, version_attributes: dict[str, Any]) -> dict[str, Any]:
        return {}

    def patch(self, attributes: dict[str, Any], fields: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        return attributes

    def metadata(self, attributes: dict[str, Any]) -> dict[str, Any]:
        return {}


class Arbitrary(_UserData):
    secret_type = SecretType.ARBITRARY
    has_expiration = True
    user_expiration = True
    rotatable = False
    renews_before_expiry = False
    payload_fields = ("payload",)
    create_fields = ("payload",)
    version_fields = ("payload",)
    patch_fields: tuple[str, ...] = ()

    def _data(self, fields: dict[str, Any]) -> dict[str, Any]:
        payload = _string(fields, "payload")
        assert payload is not None
        size = len(payload.encode())
        if size > ARBITRARY_MAX_BYTES:
            raise PayloadTooLarge(f"payload: {size} bytes is over the limit of {ARBITRARY_MAX_BYTES} bytes", field="payload")
        if not payload:
            raise InvalidInput("payload: must not be empty", field="payload")
        return {"payload": payload}



class KeyValue(_UserData):
    secret_type = SecretType.KV
    has_expiration = False
    user_expiration = False
    rotatable = False
    renews_before_expiry = False
    payload_fields = ("data",)
    create_fields = ("data",)
    version_fields = ("data",)
    patch_fields: tuple[str, ...] = ()

    def _data(self, fields: dict[str, Any]) -> dict[str, Any]:
        data = fields.get("data")
        if data is None:
            raise InvalidInput("data: is required", field="data")
        if not isinstance(data, dict):
            raise InvalidInput("data: must be a JSON object", field="data")
        size = json_size(data)
        if size > KV_MAX_BYTES:
            raise PayloadTooLarge(f"data: {size} bytes is over the limit of {KV_MAX_BYTES} bytes", field="data")
        return {"data": data}



class UsernamePassword:
    secret_type = SecretType.USERNAME_PASSWORD
    has_expiration = True
    user_expiration = True
    rotatable = True
    renews_before_expiry = False
    payload_fields = ("username", "password")
    create_fields = ("username", "password", "password_generation_policy", "rotation")
    version_fields = ("password",)
    patch_fields = ("password_generation_policy", "rotation")

    def _password(self, fields: dict[str, Any], policy: passwords.PasswordPolicy) -> str:
        password = _string(fields, "password", required=False)
        if password is None:
            return passwords.from_policy(policy)
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise InvalidInput(f"password: must be {PASSWORD_MIN}-{PASSWORD_MAX} characters", field="password")
        return password

    def create(self, fields: dict[str, Any], ctx: HandlerContext) -> Material:
        username = _string(fields, "username")
        assert username is not None
        if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
            raise InvalidInput(f"username: must be {USERNAME_MIN}-{USERNAME_MAX} characters", field="username")
        policy = passwords.PasswordPolicy.from_dict(fields.get("password_generation_policy"))
        rotation = rotation_policy(fields.get("rotation") or DEFAULT_ROTATION)
        # The username is secret data: it lives only in the sealed payload, never in attributes.
        attributes = {"password_generation_policy": policy.to_dict(), "rotation": rotation}
        return Material({"username": username, "password": self._password(fields, policy)}, attributes=attributes)

    def new_version(
        self, attributes: dict[str, Any], fields: dict[str, Any], current: dict[str, Any] | None, ctx: HandlerContext
    ) -> Material:
        policy = passwords.PasswordPolicy.from_dict(attributes.get("password_generation_policy"))
        if current is None or "username" not in current:
            raise InvalidInput("username: the current version's data was erased, so the username cannot be carried over")
        return Material({"username": current["username"], "password": self._password(fields, policy)})

    def version_metadata(self, version_attributes: dict[str, Any]) -> dict[str, Any]:
        return {}

    def patch(self, attributes: dict[str, Any], fields: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        out = dict(attributes)
        if fields.get("password_generation_policy") is not None:
            base = passwords.PasswordPolicy.from_dict(attributes.get("password_generation_policy"))
            out["password_generation_policy"] = passwords.PasswordPolicy.from_dict(
                fields["password_generation_policy"], base
            ).to_dict()
        if fields.get("rotation") is not None:
            out["rotation"] = rotation_policy(fields["rotation"])
        return out

    def metadata(self, attributes: dict[str, Any]) -> dict[str, Any]:
        return {
            "rotation": attributes.get("rotation", DEFAULT_ROTATION),
            "password_generation_policy": attributes.get("password_generation_policy"),
        }
