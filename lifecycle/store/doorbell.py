"""A doorbell rung after a transaction that queued a task commits, so in-process workers
start on it at once instead of at their next poll. Workers in other processes cannot hear
it and keep polling; a missed ring costs at most one poll interval, never the task.
"""

from __future__ import annotations

import threading


class Doorbell:
    """Counts rings; `wait(seen, timeout)` returns as soon as the count differs from ``seen``,
    so a ring between a worker's last look and its wait is never lost."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rings = 0

    @property
    def rings(self) -> int:
        return self._rings

    def ring(self) -> None:
        with self._cond:
            self._rings += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until rung after ``seen`` or ``timeout`` seconds pass; returns the current count."""
        with self._cond:
            self._cond.wait_for(lambda: self._rings != seen, timeout)
            return self._rings
