"""What reading a payload leaves behind, written after the read and before the data is handed on.

Reading a secret's data (or one version's) marks the secret retrieved (`retrieved_at`,
`downloaded`), marks the version downloaded, and writes an audit event naming the version
read. The read itself runs in a read-only snapshot and returns these marks as a
`PayloadRead`; `write_now` writes them in a transaction of their own (library callers, the
CLI), and `record`, behind the API, joins the reads of one event-loop turn into one
transaction (lifecycle/group_commit.py). Either way the caller gets the data only once the
audit event of its read has committed, and a read whose marks cannot be written fails.

A read of one statement (a secret's current data by id, the API's hottest call) can leave the
read itself to the batch: `read_together` hands over what to read, and the batch makes all
such reads on one connection before it writes their marks. Opening a reader cost about as
much as the statement (~80 us on SQLite); once per batch, not once per read.

Between the snapshot and the write the secret may change (a rotation, a deletion): the marks
still say what was read. The version read is marked downloaded, the audit event names it,
and the update of a deleted secret's row changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from lifecycle import audit
from lifecycle.core import Actor, Core
from lifecycle.store import SqlStore, Tx

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class PayloadRead:
    """One read of a version's data: who read it, when, through which action."""

    action: str  # the audit action: secret.read_payload, version.read_payload
    secret_id: str
    version_id: str
    first_download: bool  # the version was not yet marked downloaded when it was read
    actor: Actor
    at: datetime


def write(tx: Tx, reads: list[PayloadRead]) -> None:
    """The marks of ``reads`` in the caller's transaction: one update per secret and version
    however often each was read, one audit event per read, as executemany batches (each in
    the order of its rows, so two server processes' batches over the same secrets lock them
    in one order: in arrival order they deadlocked on PostgreSQL)."""
    retrieved: dict[str, datetime] = {}
    for read in reads:
        retrieved[read.secret_id] = max(read.at, retrieved.get(read.secret_id, read.at))
    with tx.held_writes():
        for version_id in dict.fromkeys(read.version_id for read in reads if read.first_download):
            tx.update_version(version_id, downloaded=True)
        for secret_id, at in retrieved.items():
            tx.update_secret(secret_id, retrieved_at=at, downloaded=True)
        for read in reads:
            audit.record(tx, read.actor, read.at, read.action, f"secret:{read.secret_id}/version:{read.version_id}")


def write_now(store: SqlStore, reads: list[PayloadRead]) -> None:
    """The marks of ``reads`` in one transaction of their own."""
    with store.transaction() as tx:
        write(tx, reads)


@dataclass(frozen=True, slots=True)
class ReadInBatch:
    """A read the batch makes: ``run`` reads with one statement on the reader it is given (no
    snapshot spans the batch's reads) and returns what to answer and the read's marks (None
    when nothing was read); the domain error it raises is answered to its caller alone."""

    run: Callable[[Tx], tuple[Any, PayloadRead | None]]


def _commit(store: SqlStore, items: list[PayloadRead | ReadInBatch]) -> list[Any]:
    """The reads left to the batch, then one transaction with the marks of every read that
    found data. A read's own failure (not found, not allowed, a row it cannot decode) is its
    answer alone; a database error fails the batch, and then no read's data is kept here for
    the error's traceback to reach."""
    answers: list[Any] = [None] * len(items)
    try:
        reads = [item for item in items if isinstance(item, PayloadRead)]
        if len(reads) < len(items):
            with store.reader(unwrapped=True) as tx:
                for i, item in enumerate(items):
                    if isinstance(item, PayloadRead):
                        continue
                    try:
                        answers[i], read = item.run(tx)
                    except Exception as exc:  # not found, not allowed, a row it cannot decode: its answer
                        if store.is_database_error(exc):
                            raise
                        answers[i] = exc
                        continue
                    if read is not None:
                        reads.append(read)
        if reads:
            write_now(store, reads)
    except BaseException:
        answers.clear()  # the decrypted data of the others: not for the traceback's frames
        raise
    return answers


async def record(core: Core, read: PayloadRead | None) -> None:
    """Returns once the marks of ``read`` have committed, together with those of the other reads
    of this event-loop turn; raises StoreUnavailable (or what else the commit met) otherwise.
    None (nothing was read: a secret without a version yet) returns at once."""
    if read is not None:
        await core.payload_reads.submit(read, partial(_commit, core.store))


async def read_together(core: Core, run: Callable[[Tx], tuple[V, PayloadRead | None]]) -> V:
    """What ``run`` answers (see `ReadInBatch`), once the marks of its read have committed with
    those of the other reads of this event-loop turn; raises what ``run`` raised, or what the
    batch's reader or commit met (then every read of the batch fails alike)."""
    answer: V = await core.payload_reads.submit(ReadInBatch(run), partial(_commit, core.store))
    return answer
