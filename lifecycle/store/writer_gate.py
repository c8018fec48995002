"""SQLite's writers take turns through a gate that hands the turn over at once.

SQLite has one writer at a time. A connection that finds the write lock taken sleeps in
SQLite's busy handler on a fixed schedule (1, 2, 5, 10, 15, 20, 25 ... 100 ms) and looks
again, so under contention a writer often sleeps well past the moment the lock came free:
two worker processes rotating certificates spent about 40% of their time idle that way.

The gate is taken before BEGIN IMMEDIATE and given back after the commit or rollback: a
re-entrant lock between the threads of a process (woken the moment it is released) and an
advisory `flock` on `<database>-writer` between processes (looked at every fraction of a
millisecond, at a syscall's cost). It only orders writers that go through the store;
SQLite's own locking still guarantees correctness for everyone else (the CLI's migrations,
an operator's sqlite3 shell), whose writes are waited for by the busy timeout as before.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lifecycle.errors import StoreUnavailable

POLL_S = 0.0002  # between looks at another process's turn
MAX_POLL_S = 0.002


class WriterGate:
    def __init__(self, database: Path, timeout_s: float) -> None:
        self.path = database.with_name(database.name + "-writer")
        self.timeout_s = timeout_s
        self._threads = threading.RLock()
        self._depth = 0  # turns held by the thread that holds _threads (nested transactions)
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the turn to write; raises StoreUnavailable after the timeout."""
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            raise StoreUnavailable(f"database busy: no turn to write within {self.timeout_s:.0f} s")
        try:
            if self._depth == 0:
                self._take_file(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _take_file(self, deadline: float) -> None:
        fd, pause = self._file(), POLL_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreUnavailable(
                        f"database busy: another process kept the turn to write over {self.timeout_s:.0f} s") from None
                time.sleep(pause)  # bounded by the deadline above
                pause = min(pause * 2, MAX_POLL_S)

    def _file(self) -> int:
        """This process's descriptor of the gate file (a forked child opens its own: a shared
        description would share the lock)."""
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        """Close this process's descriptor (a later turn opens it again)."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None
