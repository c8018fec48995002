"""Held writes: a batch of independent per-secret changes written as one executemany per
kind of statement instead of one round through SQLAlchemy per row.

Inside `Tx.held_writes()`, the store methods that know how (new secrets, versions, stage
labels, payload erasure, version, secret and task updates, task, event and audit inserts)
hand their statement to `HeldWrites` instead of running it. At the end of the block, or
before any write that is not held, everything held runs in `ORDER`: rows others reference
first (a secret before its versions, a version before the labels naming it), a version's
deletion after the labels moved off it; updates and deletes of one kind in the order of
their rows, so concurrent batches lock shared rows in one order. Two held writes to the same row never pass each
other: the second makes the first run (`settle`) unless they set different columns of an
UPDATE.

Savepoints inside the block mark how much is held; an exception undoes the writes held
since the mark, and a database savepoint opens only if something had to run inside it.
So a unit of the batch (one rotation) still fails alone. When a unit makes the writes held
before it run and one of those fails, the failure is not the unit's: its savepoint passes
the database's error on to the block that held them (the batch fails whole).

A dry block (in a read-only snapshot) never writes: what it holds is taken out per unit
(`since`) to be replayed in a write transaction that has checked the unit's reads still
hold, and anything that would have to run raises `CannotHold`. Taken out, each write is
also compiled for the database and its parameters processed into what the driver takes
(`prepare`), so the write transaction hands them to the driver's executemany as they are:
SQLAlchemy's per-row work (JSON, datetimes) is done in the snapshot, outside the write lock.
Writes held in the write transaction itself are prepared when they run, for the same
executemany (through `Connection.execute` a batch of eight reads' marks cost ~3x as much).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Dialect

from lifecycle.store.direct import execute_many

# The kinds of held write, in the order a flush runs them.
ORDER = ("secret_insert", "label_insert", "search_insert", "count_add", "version_insert", "version_update",
         "stage_delete",
         "stage_update", "stage_insert", "payload_erase", "version_delete", "secret_update", "task_insert",
         "task_update", "event_insert", "audit_insert")
_RANK = {kind: i for i, kind in enumerate(ORDER)}
_UPDATES = frozenset({"version_update", "stage_update", "payload_erase", "secret_update", "task_update"})
# Kinds that lock rows other transactions may hold too: each runs in the order of the rows it
# changes, so two batches (two server processes on PostgreSQL) take their locks in one order
# and one waits for the other instead of deadlocking.
_IN_ROW_ORDER = _UPDATES | {"stage_delete", "version_delete"}


class CannotHold(Exception):
    """A dry held block met a write that would have to run now (or a read of its own writes)."""


@dataclass(frozen=True, slots=True)
class Additive:
    """A write that adds ``amount`` to the row named by its ``key`` parameters. Such additions
    commute, so a flush runs those with the same key as one, adding their sum (with the first
    one's other parameters), in key order: one lock per key row, taken in the same order by
    every batch. Added one by one in creation order, two batches on PostgreSQL locked shared
    count rows in crossed orders and deadlocked (one waited the 1 s deadlock_timeout, then failed)."""

    key: tuple[str, ...]
    amount: str


@dataclass(slots=True)
class HeldWrite:
    """One write held back: its kind (ORDER), statement, parameters and the row it changes."""

    kind: str
    statement: Any
    params: dict[str, Any] = field(repr=False)  # sealed payloads and wrapped keys among them
    row: tuple[Any, ...]  # (table, identity): what the write changes
    driver: tuple[str, Any] | None = field(default=None, repr=False)  # (SQL, driver parameters), from prepare()
    additive: Additive | None = None  # adds to its row: summed with the others of its key at a flush


@dataclass(slots=True)
class _Mark:
    at: int  # held writes before this index belong to the enclosing block
    nested: Any = None  # the database savepoint, once something ran inside


@dataclass(frozen=True, slots=True)
class _Failure:
    owner: int  # the depth of the savepoint that held the writes that failed; -1: the block itself
    error: BaseException


@dataclass(slots=True)
class HeldWrites:
    conn: Connection
    dry: bool = False
    held: list[HeldWrite] = field(default_factory=list)
    marks: list[_Mark] = field(default_factory=list)
    rows: dict[tuple[Any, ...], list[HeldWrite]] = field(default_factory=dict)  # held writes by the row they change
    failure: _Failure | None = None  # a run of held writes that failed, until the savepoint holding them is undone

    def add(self, kind: str, statement: Any, params: dict[str, Any], row: tuple[Any, ...],
            additive: Additive | None = None) -> None:
        self._add(HeldWrite(kind, statement, params, row, additive=additive))

    def _add(self, w: HeldWrite) -> None:
        for other in self.rows.get(w.row, ()):
            if not (w.kind == other.kind and w.kind in _UPDATES and other.statement is w.statement
                    and _disjoint(other.params, w.params)):
                self.settle()  # the earlier write to this row runs first
                break
        self.held.append(w)
        self.rows.setdefault(w.row, []).append(w)

    def settle(self) -> None:
        """Run everything held now, in order; writes held inside an open savepoint run inside
        its database savepoint (opened here), so undoing the savepoint still undoes them."""
        if self.dry:
            if self.held:
                raise CannotHold("a dry held block must not write")
            return
        if self.failure is not None:
            raise self.failure.error  # the block's own writes failed: it cannot go on
        done, owner = 0, -1
        try:
            for depth, mark in enumerate(self.marks):
                if mark.nested is None:
                    owner = depth - 1  # what was held before this savepoint: the enclosing one's (or the block's)
                    self._run(self.held[done:mark.at])
                    done = mark.at
                    mark.nested = self.conn.begin_nested()
            owner = len(self.marks) - 1
            self._run(self.held[done:])
            done = len(self.held)
        except BaseException as exc:
            self.failure = _Failure(owner, exc)
            raise
        finally:
            self._forget(done)

    def _forget(self, ran: int) -> None:
        """Drop the first ``ran`` held writes: they have run."""
        if ran == len(self.held):
            self.held.clear()
            self.rows.clear()
        elif ran:
            del self.held[:ran]
            self._index()
        for mark in self.marks:
            mark.at = max(0, mark.at - ran)

    def _index(self) -> None:
        self.rows = {}
        for w in self.held:
            self.rows.setdefault(w.row, []).append(w)

    @contextmanager
    def savepoint(self, on_undo: Callable[[], None]) -> Iterator[None]:
        mark = _Mark(len(self.held))
        self.marks.append(mark)
        depth = len(self.marks) - 1
        try:
            yield
        except BaseException:
            del self.held[mark.at:]
            self._index()
            if mark.nested is not None:
                mark.nested.rollback()
            on_undo()
            failure = self.failure
            if failure is not None and failure.owner < depth:
                # Writes held before this savepoint failed when something inside it made them
                # run: not this unit's failure, whatever its code made of the error. It goes
                # on, as the database raised it, to the block that held them.
                raise failure.error from None
            self.failure = None  # this unit's own writes failed: undone with it
            raise
        else:
            if mark.nested is not None:
                mark.nested.commit()
        finally:
            self.marks.pop()

    def since(self, mark: int) -> list[HeldWrite]:
        """The writes held from index ``mark`` on (a dry block's unit, to replay elsewhere),
        prepared for the driver."""
        writes = list(self.held[mark:])
        prepare(writes, self.conn.dialect)
        return writes

    def replay(self, writes: list[HeldWrite]) -> None:
        for w in writes:
            self._add(w)

    def _run(self, writes: list[HeldWrite]) -> None:
        prepare([w for w in writes if w.driver is None], self.conn.dialect)  # (replayed ones come prepared)
        groups: dict[tuple[int, int, tuple[str, ...]], list[HeldWrite]] = {}
        for w in sorted(writes, key=lambda w: _RANK[w.kind]):  # stable: the batch's order within a kind
            groups.setdefault((_RANK[w.kind], id(w.statement), tuple(w.params)), []).append(w)
        for group in groups.values():  # one statement and parameter names: one SQL when prepared
            additive = group[0].additive
            if additive is not None:
                self.conn.execute(group[0].statement, _summed(group, additive))
                continue
            if group[0].kind in _IN_ROW_ORDER:
                group.sort(key=lambda w: w.row)  # stable: two writes to one row keep their order
            drivers = [w.driver for w in group if w.driver is not None]
            if len(drivers) == len(group):
                execute_many(self.conn, drivers[0][0], [args for _sql, args in drivers])
            else:
                self.conn.execute(group[0].statement, [w.params for w in group])


_COMPILED: dict[tuple[int, tuple[str, ...], int], tuple[Any, Any, Any, dict[str, Any], tuple[str, ...] | None]] = {}


def prepare(writes: list[HeldWrite], dialect: Dialect) -> None:
    """Compile each write for ``dialect`` and process its parameters as SQLAlchemy would
    (each bound value through its type's processor for the dialect), in the driver's
    paramstyle: `_run` then gives them to the driver unchanged. A statement needing more of
    SQLAlchemy at execution (Python-side column defaults, expanding or post-compiled
    parameters, escaped names) is left unprepared and runs through SQLAlchemy."""
    for w in writes:
        key = (id(w.statement), tuple(w.params), id(dialect))
        cached = _COMPILED.get(key)
        if cached is None or cached[0] is not w.statement or cached[1] is not dialect:
            cached = _COMPILED[key] = (w.statement, dialect, *_compile(w.statement, tuple(w.params), dialect))
        _statement, _dialect, compiled, processors, direct = cached
        if compiled is None:
            continue
        values = w.params if direct is not None else compiled.construct_params(w.params)
        if compiled.positional:
            args: Any = tuple(processors[k](values[k]) if k in processors else values[k] for k in compiled.positiontup)
        else:
            args = {k: processors[k](values[k]) if k in processors else values[k] for k in (direct or values)}
        w.driver = (compiled.string, args)


def _compile(statement: Any, keys: tuple[str, ...],
             dialect: Dialect) -> tuple[Any, dict[str, Any], tuple[str, ...] | None]:
    """(compiled, bind processors by name, the bound names when each is a parameter as given);
    (None, {}, None) for a statement `prepare` leaves to SQLAlchemy."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if (compiled.insert_prefetch or compiled.update_prefetch or compiled.literal_execute_params
            or compiled.post_compile_params or compiled.escaped_bind_names):
        return None, {}, None
    processors = {name: p for name, bind in compiled.binds.items()
                  if (p := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
    names = tuple(compiled.positiontup if compiled.positional else compiled.binds)
    # Every bound name is a parameter as given (no defaults or renames to apply): the values
    # are the parameters themselves, without construct_params.
    return compiled, processors, names if set(names) <= set(keys) else None


def _summed(adds: list[HeldWrite], additive: Additive) -> list[dict[str, Any]]:
    """Additions as one per key (the sum, with the first one's other parameters), in key order."""
    totals: dict[tuple[Any, ...], dict[str, Any]] = {}
    for w in adds:
        key = tuple(w.params[k] for k in additive.key)
        if key in totals:
            totals[key][additive.amount] += w.params[additive.amount]
        else:
            totals[key] = dict(w.params)
    return [totals[key] for key in sorted(totals)]


def _disjoint(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two UPDATEs of one row that set no column in common (their identity keys aside)."""
    keys = (set(a) & set(b)) - {"row_id", "row_secret", "row_stage", "expect_fence"}
    return not keys


class WatchedConnection:
    """The connection as a held block's store methods see it: a write that is not held first
    makes the held ones run, so writes reach the database in the order they were made."""

    def __init__(self, conn: Connection, held: HeldWrites) -> None:
        self._conn, self._held = conn, held

    def execute(self, statement: Any, parameters: Any = None) -> Any:
        if getattr(statement, "is_dml", False):
            if self._held.dry:
                raise CannotHold("a dry held block must not write")
            if self._held.held:
                self._held.settle()
        return self._conn.execute(statement, parameters)

    def begin_nested(self) -> Any:
        if self._held.dry:
            raise CannotHold("a dry held block must not write")
        self._held.settle()
        return self._conn.begin_nested()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)
