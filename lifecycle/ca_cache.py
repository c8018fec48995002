"""Certificate authorities already opened in this process: the parsed certificate, chain
and private key of a CA configuration row, so issuing does not unwrap, decrypt and parse
the same key for every certificate.

An entry is keyed by everything it was made from (the row's certificate, chain and
sealed key), so a changed row (rotation, rekey, new signature) misses and is opened
again; nothing needs invalidating. Bounded: the oldest entry goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from cryptography import x509

from pki.keys import PrivateKey


@dataclass(frozen=True, slots=True)
class OpenedCA:
    certificate: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate]


CacheKey = tuple[str, str | None, str | None, str | None, bytes | None, bytes | None]


class CaCache:
    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[CacheKey, OpenedCA] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> OpenedCA | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key: CacheKey, opened: OpenedCA) -> None:
        with self._lock:
            self._entries[key] = opened
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
