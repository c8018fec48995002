"""Things already opened in this process from a configuration row: a CA's parsed
certificate, chain and unwrapped key; a DNS provider with its credentials and clients.
Issuing or ordering then does not unwrap, decrypt, parse or connect again each time.

An entry is keyed by everything it was made from (the row's certificate, chain, sealed
key and attributes), so a changed row (rotation, rekey, new signature, new credentials)
misses and is opened again; nothing needs invalidating. Bounded: the oldest entry goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class OpenedCache(Generic[V]):
    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key: Hashable, opened: V) -> None:
        with self._lock:
            self._entries[key] = opened
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
