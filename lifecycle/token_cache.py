"""Recently read API token rows, kept in memory per process."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from lifecycle.records import TokenRecord


class TokenCache:
    """Token rows recently read, by token id, so a busy client costs no query per request.

    Only rows that exist are kept, for at most ``ttl`` seconds (a row changed in the
    store is seen by every server within that time); the hash, revocation and expiry
    checks still run on every request. Bounded: the oldest entry goes first.
    """

    def __init__(self, ttl: float = 5.0, size: int = 10_000, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self._monotonic = ttl, size, monotonic
        self._rows: OrderedDict[str, tuple[float, TokenRecord]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token_id: str) -> TokenRecord | None:
        with self._lock:
            hit = self._rows.get(token_id)
            if hit is None:
                return None
            if self._monotonic() - hit[0] > self.ttl:
                del self._rows[token_id]
                return None
            return hit[1]

    def put(self, record: TokenRecord) -> None:
        with self._lock:
            self._rows[record.id] = (self._monotonic(), record)
            self._rows.move_to_end(record.id)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)
