"""The base of a store transaction: its connection, row-to-record mapping, inserts."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from lifecycle.errors import Conflict

R = TypeVar("R")


def _record(cls: type[R], row: Any) -> R:
    mapping = row._mapping
    return cls(**{f.name: mapping[f.name] for f in fields(cls)})  # type: ignore[arg-type]


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class TxBase:
    """The connection of one transaction, shared by the entity mixins that make up `Tx`."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._for_update = conn.dialect.name == "postgresql"

    def _insert(self, table: Any, values: dict[str, Any], conflict_message: str) -> None:
        try:
            self._c.execute(insert(table), values)  # a cached statement; values as parameters
        except IntegrityError:
            raise Conflict(conflict_message) from None
