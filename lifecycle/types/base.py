"""The contract every secret type implements: how its input becomes secret data."""

from __future__ import annotations

from typing import Any, Protocol

from lifecycle.vocabulary import SecretType


class TypeHandler(Protocol):
    secret_type: SecretType
    has_expiration: bool
    rotatable: bool
    # wire fields of the secret data, sealed at rest and shown only with a payload
    payload_fields: tuple[str, ...]
    # wire fields accepted on creation besides the common ones
    create_fields: tuple[str, ...]
    # wire fields accepted on a new version
    version_fields: tuple[str, ...]
    # wire fields accepted on a metadata patch besides the common ones
    patch_fields: tuple[str, ...]

    def create(self, fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate creation fields; return (secret attributes, secret data of version 1)."""

    def new_version(
        self, attributes: dict[str, Any], fields: dict[str, Any], current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Validate a new version's fields; return its secret data."""

    def patch(self, attributes: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        """Validate a metadata patch's type-specific fields; return the new attributes."""

    def metadata(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """The type-specific wire fields of the secret's metadata."""
