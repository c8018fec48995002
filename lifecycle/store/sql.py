"""The store on SQLAlchemy Core: one `Tx` per transaction, entity-shaped methods.

A `Tx` is the only way to touch tables. Every method of a write transaction runs
in the same database transaction, so a change of versions, stage labels, locks
and secret state commits whole or not at all.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from lifecycle.errors import Conflict, InvalidInput, LifecycleError, StoreUnavailable, StoreUnreachable
from lifecycle.store.doorbell import Doorbell
from lifecycle.store.engine import SQLITE_BUSY_TIMEOUT_MS, make_engine
from lifecycle.store.search import TrigramSample
from lifecycle.store.search_upkeep import SearchUpkeep
from lifecycle.store.tx_pki import PkiTx
from lifecycle.store.tx_secrets import SORTABLE, SecretQuery, SecretsTx
from lifecycle.store.tx_work import WorkTx
from lifecycle.store.writer_gate import WriterGate

__all__ = ["SORTABLE", "SecretQuery", "SqlStore", "Tx"]


class Tx(SecretsTx, PkiTx, WorkTx):
    """One transaction's view of the store: every entity's methods on one connection."""


def _translate(exc: DBAPIError) -> LifecycleError:
    """A database error as a domain error; the message names no stored value."""
    if isinstance(exc, DataError):
        return InvalidInput("a value cannot be stored: it holds a NUL character or is out of range")
    if isinstance(exc, IntegrityError):
        return Conflict("the change conflicts with a concurrent one; try again")
    if isinstance(exc, OperationalError):
        return StoreUnavailable(f"database error: {type(exc.orig).__name__}{_cause(exc.orig)}")
    return StoreUnavailable(f"database error: {type(exc).__name__}")


# What an operator does about a SQLite error: its result code (never the message, which may
# quote a statement) and, for the ones with a remedy outside certkeeper, what it means.
_SQLITE_MEANING = {
    "SQLITE_FULL": "the disk (or the database's size limit) is full",
    "SQLITE_READONLY": "the database file or its directory is read-only",
    "SQLITE_CANTOPEN": "the database file cannot be opened",
    "SQLITE_CORRUPT": "the database file is corrupt",
    "SQLITE_NOTADB": "the file is not a database",
    "SQLITE_BUSY": "another process held the write lock too long",
    "SQLITE_IOERR": "the disk failed to read or write",
}


def _cause(orig: BaseException | None) -> str:
    """`` (SQLITE_FULL: the disk ... is full)`` for a SQLite error, `` (SQLSTATE 57P01)`` for a
    PostgreSQL one; empty when the driver says no more than its exception's class."""
    code = getattr(orig, "sqlite_errorname", None)
    if isinstance(code, str):
        meaning = _SQLITE_MEANING.get("_".join(code.split("_")[:2]))  # SQLITE_IOERR_WRITE: SQLITE_IOERR's
        return f" ({code}: {meaning})" if meaning else f" ({code})"
    state = getattr(orig, "sqlstate", None)
    return f" (SQLSTATE {state})" if isinstance(state, str) and state else ""


class SqlStore:
    """Opens transactions on one database; owns the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backend = engine.dialect.name
        self.task_bell = Doorbell()  # rung after a commit that queued a task
        self.search_sample = TrigramSample(engine)  # which trigrams of a search term are rare enough to ask
        self.search_upkeep = SearchUpkeep(self) if self.backend == "sqlite" else None  # merges FTS5's segments
        database = engine.url.database
        self._gate = (WriterGate(Path(database), SQLITE_BUSY_TIMEOUT_MS / 1000)
                      if self.backend == "sqlite" and database and database != ":memory:" else None)

    @classmethod
    def from_url(cls, url: str) -> SqlStore:
        return cls(make_engine(url))

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction: everything inside commits together or not at all. On SQLite it
        first takes the writers' turn (lifecycle/store/writer_gate.py)."""
        with ExitStack() as turn:
            if self._gate is not None:
                turn.enter_context(self._gate.turn())
            with self._write_transaction() as tx:
                yield tx
        if tx.queued_tasks:
            self.task_bell.ring()

    @contextmanager
    def _write_transaction(self) -> Iterator[Tx]:
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            raise StoreUnreachable(f"database unreachable: {type(exc.orig).__name__}") from None
        with conn:
            if self.backend == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            try:
                with conn.begin():
                    tx = Tx(conn, self.search_sample)
                    yield tx
            except DBAPIError as exc:
                raise _translate(exc) from None

    @contextmanager
    def reader(self, *, one_snapshot: bool = False, unwrapped: bool = False) -> Iterator[Tx]:
        """A read-only transaction. On SQLite it reads one snapshot; on PostgreSQL each statement
        sees what was committed when it began, unless ``one_snapshot`` (REPEATABLE READ: every
        statement sees the database as the first one did). ``unwrapped``: no BEGIN and COMMIT
        around the block, each statement sees what was committed when it ran; for a block of one
        statement (a snapshot by itself), or whose reads are checked again where they matter."""
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            raise StoreUnreachable(f"database unreachable: {type(exc.orig).__name__}") from None
        with conn:
            if one_snapshot and self.backend == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            elif unwrapped:
                conn = conn.execution_options(**({"sqlite_begin": None} if self.backend == "sqlite"
                                                  else {"isolation_level": "AUTOCOMMIT"}))
            try:
                with conn.begin():
                    yield Tx(conn, self.search_sample, writes=False)
            except DBAPIError as exc:
                raise _translate(exc) from None

    @staticmethod
    def is_database_error(exc: BaseException) -> bool:
        """Whether ``exc`` came from the database driver (through SQLAlchemy), untranslated."""
        return isinstance(exc, DBAPIError)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except OperationalError:
            return False

    def disk_free_bytes(self) -> int | None:
        """Free bytes on the filesystem of a SQLite database file; None for PostgreSQL (its
        server's disk is its own) and in-memory databases."""
        path = self.engine.url.database if self.backend == "sqlite" else None
        if not path or path == ":memory:":
            return None
        try:
            return shutil.disk_usage(Path(path).resolve().parent).free
        except OSError:
            return None

    def dispose(self) -> None:
        self.search_sample.close()
        self.engine.dispose()
        if self._gate is not None:
            self._gate.close()


