"""Manual DNS-01: certkeeper publishes nothing; it shows the user which TXT records to add.

`present` only collects the challenges (`challenges` lists them for `issuance_info`), `check`
does no self-check (the user says when the records are in place), `cleanup` forgets a value.
"""

from __future__ import annotations

import threading

from dns_providers.base import TxtRecord, record_name


class ManualProvider:
    """Collects the TXT records the user must add; thread-safe, holds no DNS credentials."""

    self_check = False

    def __init__(self) -> None:
        self._records: list[TxtRecord] = []
        self._lock = threading.Lock()

    @property
    def challenges(self) -> tuple[TxtRecord, ...]:
        """What the user must publish now, in the order it was asked for."""
        with self._lock:
            return tuple(self._records)

    def present(self, name: str, value: str) -> None:
        record = TxtRecord(record_name(name), value)
        with self._lock:
            if record not in self._records:
                self._records.append(record)

    def check(self, name: str, value: str) -> None:
        """No self-check: the user validates by calling the validate action once records are in place."""

    def cleanup(self, name: str, value: str) -> None:
        record = TxtRecord(record_name(name), value)
        with self._lock:
            self._records = [r for r in self._records if r != record]
