"""The base of a store transaction: its connection, row-to-record mapping, inserts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from lifecycle.errors import Conflict

R = TypeVar("R")


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _record(cls: type[R], row: Any) -> R:
    mapping = row._mapping
    return cls(**{name: mapping[name] for name in _field_names(cls)})


def _row(record: Any) -> dict[str, Any]:
    """A record's fields as column values (shallow: JSON columns take the lists and dicts as they are)."""
    return {name: getattr(record, name) for name in _field_names(type(record))}


@cache
def _insert_statement(table: Any) -> Any:
    """One INSERT per table, built once: SQLAlchemy then reuses its cache key and compiled form."""
    return insert(table)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class TxBase:
    """The connection of one transaction, shared by the entity mixins that make up `Tx`."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._for_update = conn.dialect.name == "postgresql"
        self.queued_tasks = False  # set when this transaction made a task runnable: ring after commit
        self._memo: dict[str, Any] = {}  # reads repeated within this transaction; writes drop them

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an exception inside undoes only what was done inside, and goes on."""
        try:
            with self._c.begin_nested():
                yield
        except BaseException:
            self._memo.clear()  # what was read inside may have been undone
            raise

    def _insert(self, table: Any, values: dict[str, Any], conflict_message: str) -> None:
        try:
            self._c.execute(_insert_statement(table), values)
        except IntegrityError:
            raise Conflict(conflict_message) from None
