"""What every core operation needs: the store, the keyring, the clock, and who is asking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lifecycle.crypto import Keyring
from lifecycle.errors import Forbidden
from lifecycle.group_commit import GroupCommit
from lifecycle.opened_cache import OpenedCache
from lifecycle.plan_hints import PlanHints
from lifecycle.store import SqlStore
from lifecycle.token_cache import TokenCache

if TYPE_CHECKING:
    from dns_providers.cis import CisProvider
    from lifecycle.ca_store import OpenedCA
    from lifecycle.batched_creates import PlannedCreate
    from lifecycle.payload_reads import PayloadRead, ReadInBatch
    from lifecycle.secrets import SecretView

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8200"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Core:
    store: SqlStore
    keyring: Keyring
    clock: Callable[[], datetime] = system_clock
    instance_id: str = "local"
    public_url: str = DEFAULT_PUBLIC_URL  # base of CRL and CA URLs embedded in certificates
    allow_private_webhooks: bool = False  # operators (and tests) may allow webhooks to internal addresses
    token_cache: TokenCache = field(default_factory=TokenCache, compare=False, repr=False)
    ca_cache: OpenedCache[OpenedCA] = field(default_factory=OpenedCache, compare=False, repr=False)  # opened CA keys
    dns_providers: OpenedCache[CisProvider] = field(default_factory=OpenedCache, compare=False, repr=False)
    # the marks of payload reads served together, committed together (lifecycle/payload_reads.py)
    payload_reads: GroupCommit[PayloadRead | ReadInBatch, Any] = field(default_factory=GroupCommit, compare=False,
                                                                      repr=False)
    # secrets created together over the API, committed together (lifecycle/batched_creates.py)
    creates: GroupCommit[PlannedCreate, SecretView] = field(default_factory=GroupCommit, compare=False, repr=False)
    create_hints: PlanHints = field(default_factory=PlanHints, compare=False, repr=False)

    def crn(self, resource: str, ident: str) -> str:
        return f"crn:v1:certkeeper:private:secrets-manager:local:a/{self.instance_id}:{self.instance_id}:{resource}:{ident}"


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of one request: its token id, the groups it is limited to, the request id."""

    token_id: str | None
    groups: frozenset[str] | None = None  # None: every group
    request_id: str | None = None
    name: str = field(default="")

    @property
    def principal(self) -> str:
        return self.name or (f"token:{self.token_id}" if self.token_id else "certkeeper")

    def may_access(self, group_id: str) -> bool:
        return self.groups is None or group_id in self.groups

    def require_group(self, group_id: str) -> None:
        """Raises Forbidden when the token is limited to other groups."""
        if not self.may_access(group_id):
            raise Forbidden(f"secret_group_id: this token is not allowed to use secret group '{group_id}'")


SYSTEM = Actor(token_id=None, name="certkeeper")
