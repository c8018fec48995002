"""The one interface every DNS-01 provider implements, and the names it works with.

A provider publishes TXT values at `_acme-challenge.<domain>` names: `present` adds one
value (a wildcard and its apex share one name, so values coexist), `check` returns once the
value is visible or raises `PropagationTimeout`, `cleanup` removes only that value and is
idempotent. Providers never keep the only copy of what they added: cleanup works from the
name and value alone, so an order resumed in another process can clean up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class TxtRecord:
    """One DNS-01 TXT value at one record name (an FQDN without the trailing dot)."""

    name: str
    value: str


@runtime_checkable
class DnsProvider(Protocol):
    """present / check / cleanup (RFC 8555 section 8.4: the value is a TXT at _acme-challenge.<domain>)."""

    #: False when the provider cannot see DNS itself (manual: the user says when records are in place).
    self_check: bool

    def present(self, name: str, value: str) -> None:
        """Add value at name, keeping other values there. Raises DnsProviderError."""
        ...

    def check(self, name: str, value: str) -> None:
        """Return once value is visible at name; raises PropagationTimeout after the bounded wait."""
        ...

    def cleanup(self, name: str, value: str) -> None:
        """Remove value at name if present, nothing else; calling it again is a no-op."""
        ...


def record_name(name: str) -> str:
    """Normalise a record name: lower case, no trailing dot. Raises ValueError for an empty name."""
    text = name.strip().rstrip(".").lower()
    if not text:
        raise ValueError("name: a DNS-01 record name is required")
    return text
