"""Statements run on the driver's cursor, for the store's hottest reads and batched writes.

`Connection.execute` spends ~40 us per call on SQLite outside the driver (cache key, execution
context, result metadata, row objects) where the driver's own execute of the same one-row
join takes ~10 us; on a secret read that is a tenth of the request. A `DirectSelect` compiles
its statement once per dialect with SQLAlchemy, keeps each column's result processor (the
same conversions `Connection.execute` applies: JSON, UTC datetimes, booleans), and runs it on
the cursor of the connection the transaction already holds: same transaction, same rows.

`execute_many` does the same for an executemany whose statement and rows are already in the
driver's form (held writes, lifecycle/store/held.py): `exec_driver_sql` spent ~50 us per call in
SQLAlchemy's execution context, three times per batch of eight payload reads' marks.

What these skip of SQLAlchemy's execution: its `echo` logging (listeners still see every
statement) and its handling of a dropped connection (marking it invalid at once); such a
connection fails the transaction as a database error and is found dead by the pool's
pre-ping (PostgreSQL) before it is used again.

Only statements whose parameters need no bind processing qualify (strings and integers that
the driver takes as they are); compiling refuses others, so a later change of a parameter's
type cannot silently skip a conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # positional drivers (sqlite3): parameter names in placeholder order
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, conversion)


class DirectSelect:
    """A SELECT whose rows are read through the driver's cursor (see the module doc)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, converted as `conn.execute(statement, params).first()` would, as a tuple."""
        dialect = conn.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        sql = compiled.sql
        args: Any = [params[name] for name in compiled.order] if compiled.order is not None else params
        row = _on_cursor(conn, sql, args, lambda cursor: cursor.fetchone())
        if row is None:
            return None
        out = list(row)
        for i, convert in compiled.processors:
            if out[i] is not None:  # every SQLAlchemy processor passes None through
                out[i] = convert(out[i])
        return tuple(out)

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("DirectSelect: expanding or literal-execute parameters are not supported")
        for name, bind in compiled.binds.items():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise ValueError(f"DirectSelect: parameter '{name}' needs bind processing ({bind.type!r})")
        processors = []
        for i, column in enumerate(self.statement.selected_columns):
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if convert is not None:
                processors.append((i, convert))
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        result = _Compiled(compiled.string, order, tuple(processors))
        self._compiled[dialect.name] = result
        return result


def execute_many(conn: Connection, sql: str, rows: list[Any]) -> None:
    """``conn.exec_driver_sql(sql, rows)`` on the driver's cursor: the same statement, rows and
    errors (SQLAlchemy's, parameters hidden), listeners told as for ``exec_driver_sql``."""
    _on_cursor(conn, sql, rows, lambda cursor: None, many=True)


def _on_cursor(conn: Connection, sql: str, args: Any, then: Callable[[Any], Any], *, many: bool = False) -> Any:
    """Run ``sql`` on a cursor of ``conn``'s transaction; ``then(cursor)`` before it closes."""
    dialect = conn.dialect
    cursor = conn.connection.cursor()
    try:
        # Listeners on the engine (statement tracing, logging) see it as Connection.execute's.
        for listener in conn.dispatch.before_cursor_execute:
            sql, args = listener(conn, cursor, sql, args, None, many)
        if many:
            cursor.executemany(sql, args)
        else:
            cursor.execute(sql, args)
        out = then(cursor)
        for after in conn.dispatch.after_cursor_execute:
            after(conn, cursor, sql, args, None, many)
        return out
    except dialect.loaded_dbapi.Error as exc:  # as Connection.execute raises it, parameters hidden
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                                  hide_parameters=True, dialect=dialect) from exc
    finally:
        cursor.close()
