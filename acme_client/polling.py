"""Polling ACME resources with a short, growing interval that honours Retry-After.

The `acme` library's own polling sleeps a fixed second per round, which dominates an
order's latency against a fast CA; a Poller starts at a fraction of that and backs off.
Sleep and clock are injected so tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from acme_client.errors import AcmeOrderError

T = TypeVar("T")

# Pebble without its sleep validates in milliseconds, Let's Encrypt in about 1-5 s: start at
# 20 ms, double each round (no more requests in the first seconds than 0.1 s growing by half),
# and never ask less often than every 10 s. A server's Retry-After always wins.
INITIAL_INTERVAL_S = 0.02
BACKOFF_FACTOR = 2.0
MAX_INTERVAL_S = 10.0
# An order's authorizations and finalization together; LE's p99 is well under a minute.
DEFAULT_TIMEOUT_S = 300.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date, RFC 9110 10.2.3); None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


@dataclass(frozen=True, slots=True)
class Poller:
    timeout: float = DEFAULT_TIMEOUT_S
    initial: float = INITIAL_INTERVAL_S
    factor: float = BACKOFF_FACTOR
    maximum: float = MAX_INTERVAL_S
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def intervals(self) -> list[float]:
        """The first few intervals without Retry-After (for documentation and tests)."""
        out: list[float] = []
        interval = self.initial
        for _ in range(8):
            out.append(interval)
            interval = min(interval * self.factor, self.maximum)
        return out

    def until(self, fetch: Callable[[], tuple[T, float | None]], done: Callable[[T], bool],
              describe: Callable[[T], str]) -> T:
        """Call fetch() -> (value, retry_after) until done(value); raises AcmeOrderError('timeout').

        Between rounds it sleeps the server's Retry-After when given, else the growing interval,
        never past the deadline; `describe(value)` says what was still awaited in the timeout message.
        """
        deadline = self.clock() + self.timeout
        interval = self.initial
        while True:
            value, retry_after = fetch()
            if done(value):
                return value
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise AcmeOrderError("timeout", f"{describe(value)} after {self.timeout:g}s")
            self.sleep(min(retry_after if retry_after is not None else interval, remaining))
            interval = min(interval * self.factor, self.maximum)
