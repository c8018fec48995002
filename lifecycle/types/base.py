"""The contract every secret type implements: how its input becomes secret data.

A handler turns wire fields into `Material`: the data to seal, the metadata to show
on the secret and on the version, and (for certificates) the expiration date the
data itself carries. Handlers that need the store or other services (a CA signing
a certificate) get them through `HandlerContext`, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from lifecycle.vocabulary import SecretType, State

if TYPE_CHECKING:
    from lifecycle.core import Actor, Core
    from lifecycle.records import SecretRecord
    from lifecycle.store import Tx


@dataclass(frozen=True, slots=True)
class HandlerContext:
    tx: Tx
    core: Core
    actor: Actor
    now: datetime
    secret_id: str
    secret_group_id: str


@dataclass(frozen=True, slots=True)
class Material:
    # sealed at rest, shown only with a payload (never in a repr: it holds keys and passwords); None: a task makes it later
    data: dict[str, Any] | None = field(repr=False)
    attributes: dict[str, Any] | None = None  # new secret attributes; None keeps the old ones
    version_attributes: dict[str, Any] = field(default_factory=dict)
    expiration_date: datetime | None = None  # set when the data carries its own expiry
    state: State | None = None  # on creation; None is active (a CSR waiting for its certificate is pre_activation)
    # called with (tx, secret record) once the secret row exists: starts the task that makes the data
    start: Callable[[Tx, SecretRecord], None] | None = None


class TypeHandler(Protocol):
    secret_type: SecretType
    # True when users set `expiration_date`; certificates take theirs from the certificate
    user_expiration: bool
    # True when the secret shows an `expiration_date` at all
    has_expiration: bool
    rotatable: bool
    # True when rotation is renewal ahead of the certificate's expiry (rotation.renewal_date),
    # not every interval from the last version
    renews_before_expiry: bool
    # wire fields of the secret data, sealed at rest and shown only with a payload
    payload_fields: tuple[str, ...]
    # wire fields accepted on creation besides the common ones
    create_fields: tuple[str, ...]
    # wire fields accepted on a new version
    version_fields: tuple[str, ...]
    # wire fields accepted on a metadata patch besides the common ones
    patch_fields: tuple[str, ...]

    def create(self, fields: dict[str, Any], ctx: HandlerContext) -> Material:
        """Validate creation fields; return the first version's material (attributes required)."""

    def new_version(
        self, attributes: dict[str, Any], fields: dict[str, Any], current: dict[str, Any] | None, ctx: HandlerContext
    ) -> Material:
        """Validate a new version's fields; return its material."""

    def patch(self, attributes: dict[str, Any], fields: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        """Validate a metadata patch's type-specific fields; return the new attributes."""

    def metadata(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """The type-specific wire fields of the secret's metadata."""

    def version_metadata(self, version_attributes: dict[str, Any]) -> dict[str, Any]:
        """The type-specific wire fields of a version's metadata."""
