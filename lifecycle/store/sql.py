"""The store on SQLAlchemy Core: one `Tx` per transaction, entity-shaped methods.

A `Tx` is the only way to touch tables. Every method of a write transaction runs
in the same database transaction, so a change of versions, stage labels, locks
and secret state commits whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from lifecycle.errors import Conflict, InvalidInput, LifecycleError, StoreUnavailable
from lifecycle.store.doorbell import Doorbell
from lifecycle.store.engine import make_engine
from lifecycle.store.tx_pki import PkiTx
from lifecycle.store.tx_secrets import SORTABLE, SecretQuery, SecretsTx
from lifecycle.store.tx_work import WorkTx

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
        return StoreUnavailable(f"database error: {type(exc.orig).__name__}")
    return StoreUnavailable(f"database error: {type(exc).__name__}")


class SqlStore:
    """Opens transactions on one database; owns the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backend = engine.dialect.name
        self.task_bell = Doorbell()  # rung after a commit that queued a task

    @classmethod
    def from_url(cls, url: str) -> SqlStore:
        return cls(make_engine(url))

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction: everything inside commits together or not at all."""
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            raise StoreUnavailable(f"database unreachable: {type(exc.orig).__name__}") from None
        with conn:
            if self.backend == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            try:
                with conn.begin():
                    tx = Tx(conn)
                    yield tx
            except DBAPIError as exc:
                raise _translate(exc) from None
        if tx.queued_tasks:
            self.task_bell.ring()

    @contextmanager
    def reader(self) -> Iterator[Tx]:
        """A read-only snapshot."""
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            raise StoreUnavailable(f"database unreachable: {type(exc.orig).__name__}") from None
        with conn:
            try:
                with conn.begin():
                    yield Tx(conn)
            except DBAPIError as exc:
                raise _translate(exc) from None

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except OperationalError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


