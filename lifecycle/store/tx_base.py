"""The base of a store transaction: its connection, row-to-record mapping, inserts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from lifecycle.errors import Conflict
from lifecycle.store.held import Additive, HeldWrite, HeldWrites, WatchedConnection
from lifecycle.vocabulary import TaskStatus

if TYPE_CHECKING:
    from lifecycle.store.search import TrigramSample

R = TypeVar("R")


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _record(cls: type[R], row: Any) -> R:
    return _from_mapping(cls, row._mapping)


def _from_mapping(cls: type[R], mapping: Any) -> R:
    """A record from column values by name (a row's mapping, a decoded snapshot row)."""
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

    def __init__(self, conn: Connection, search_sample: TrigramSample | None = None, *, writes: bool = True) -> None:
        self._c = conn
        self._search_sample = search_sample  # the store's trigram frequencies, steering search
        # Row locks (PostgreSQL's FOR UPDATE) only where they guard a write: a read-only
        # transaction taking them would wait for, and make wait, the writers of those rows.
        self._for_update = writes and conn.dialect.name == "postgresql"
        self.queued_tasks = False  # set when this transaction made a task runnable: ring after commit
        self._memo: dict[Any, Any] = {}  # reads repeated within this transaction; writes drop them
        self._held: HeldWrites | None = None  # inside held_writes()
        self._fences: dict[str, int] = {}  # task id -> fence this transaction holds the row at
        self._prefetched: dict[tuple[str, str], Any] = {}  # (what, secret id) -> rows read ahead, used once
        self._config_reads: dict[str, Any] = {}  # configuration name -> as first read (or assumed, see assume())

    def assume(self, *, configs: dict[str, Any], webhooks: list[Any] | None, groups: dict[str, Any]) -> None:
        """Take these rows as read (configurations by name, every webhook, groups by id) instead
        of reading them: for a dry plan whose write transaction checks them again. An assumed
        configuration asked for counts among `configs_read`."""
        for name, config in configs.items():
            self._memo[("config", name)] = config
        if webhooks is not None:
            self._memo["webhooks"] = list(webhooks)
        for group_id, group in groups.items():
            self._memo[("group", group_id)] = group

    @contextmanager
    def held_writes(self, *, dry: bool = False) -> Iterator[None]:
        """Hold back the writes of a batch of independent per-secret changes and run them as
        one executemany per kind when the block ends (see lifecycle/store/held.py).

        Reads inside the block do not see the held writes: use it where each unit of the
        batch reads its secret's rows before changing them, and no unit reads what another
        changes. Rows read ahead (`prefetch_secrets`) and fences held (`hold_fences`) last
        until the block ends. Nested blocks are part of the outer one.

        ``dry`` (in a reader): nothing is written; `held_since` takes out what a unit held,
        for `replay` in a write transaction, and a write that cannot be held raises CannotHold."""
        if self._held is not None:
            yield
            return
        conn = self._c
        self._held = HeldWrites(conn, dry=dry)
        self._c = WatchedConnection(conn, self._held)  # type: ignore[assignment]
        try:
            yield
            if not dry:
                self._held.settle()
        finally:
            self._c, self._held = conn, None
            self._fences.clear()
            self._prefetched.clear()

    def held_count(self) -> int:
        return len(self._held.held) if self._held is not None else 0

    def held_since(self, mark: int) -> list[HeldWrite]:
        """What a dry held block's unit held since ``held_count()`` was ``mark``."""
        assert self._held is not None
        return self._held.since(mark)

    def replay(self, writes: list[HeldWrite]) -> None:
        """Hold, in this held_writes() block, writes a dry block planned from reads that the
        caller has checked still hold."""
        assert self._held is not None and not self._held.dry
        self._held.replay(writes)
        for w in writes:
            if w.kind in ("task_insert", "task_update") and w.params.get("status") == TaskStatus.QUEUED:
                self.queued_tasks = True

    def write_held(self) -> None:
        """Run what held_writes() holds now (reads after this see it)."""
        if self._held is not None:
            self._held.settle()

    def _hold(self, kind: str, statement: Any, params: dict[str, Any], row: tuple[Any, ...],
              additive: Additive | None = None) -> bool:
        """Hold one write inside held_writes(); False (run it now) outside."""
        if self._held is None:
            return False
        self._held.add(kind, statement, params, row, additive)
        return True

    def _drop_prefetched(self, what: str, secret_id: str | None) -> None:
        """A write to what was read ahead: the next read goes to the database (all of it, when
        the secret is not known)."""
        if not self._prefetched:
            return
        if secret_id is None:
            self._prefetched = {k: v for k, v in self._prefetched.items() if k[0] != what}
        else:
            self._prefetched.pop((what, secret_id), None)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an exception inside undoes only what was done inside, and goes on."""
        if self._held is not None:
            with self._held.savepoint(self._memo.clear):
                yield
            return
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
