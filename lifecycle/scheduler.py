"""The scheduler: turns due rotations into tasks and expired secrets into deactivated ones,
and the worker handler that runs a scheduled rotation.

Due work is found by the indexed `next_rotation_date`, never by scanning every
secret. Enqueueing clears that date in the same transaction, so a due rotation
becomes exactly one task however many schedulers run; the task's outcome and the
new version commit together under the task's fence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lifecycle import events, tasks, version_ops
from lifecycle.core import SYSTEM, Core
from lifecycle.errors import CertkeeperError, NotFound
from lifecycle.store import Tx
from lifecycle.store.held import CannotHold
from lifecycle.vocabulary import State, TaskKind
from lifecycle.workers import batched

log = logging.getLogger("certkeeper.scheduler")

# Tests only: called inside a batch of rotations' transaction just before it commits, so a
# crash test can kill the process there (see tests/e2e/test_workers.py).
before_commit: Callable[[list[tasks.Claimed]], None] | None = None
AUTOMATIC = "automatic_secret_rotation"
BATCH = 500


@dataclass(frozen=True, slots=True)
class TickReport:
    enqueued: int
    deactivated: int
    notices: int = 0
    more: bool = False  # a limit was reached: more may be due right now


def tick(core: Core, *, limit: int = BATCH) -> TickReport:
    """One pass: enqueue due rotations, deactivate expired secrets; then, on SQLite and unless
    more is due at once, a bounded share of merging the search index when it is due
    (lifecycle/store/search_upkeep.py). Safe to run concurrently. A pass with nothing due
    and no merge due takes no write lock (on SQLite, the database's one writer)."""
    report = _enqueue_due(core, limit)
    if not report.more and core.store.search_upkeep is not None:
        core.store.search_upkeep.run()
    return report


def _enqueue_due(core: Core, limit: int) -> TickReport:
    now = core.clock()
    with core.store.reader() as tx:
        if not tx.scheduled_work_due(now):
            return TickReport(0, 0)
    with core.store.transaction() as tx, tx.held_writes():  # each due secret is read, then changed once per step
        due = tx.secrets_due_for_rotation(now, limit)
        for secret in due:
            tasks.new_task(tx, kind=TaskKind.ROTATION, trigger=AUTOMATIC, secret_id=secret.id,
                           params={"due": secret.next_rotation_date.isoformat()},
                           created_by="scheduler", now=now)
            tx.update_secret(secret.id, next_rotation_date=None,
                             attributes=secret.attributes | {"rotation_state": "pending"})
        notices = events.notify_expiring(tx, now, limit)  # the 0-day notice comes before the expiry itself
        expired = tx.secrets_expired_but_active(now, limit)
        for secret in expired:
            tx.update_secret(secret.id, state=State.DEACTIVATED, updated_at=now)
            events.emit(tx, now, events.EventType.SECRET_EXPIRED, secret)
    return TickReport(len(due), len(expired), notices, more=max(len(due), len(expired), notices) >= limit)


@batched
def run_rotations(core: Core, batch: list[tasks.Claimed]) -> None:
    """Worker handler for scheduled rotations, a batch at a time: each rotation's new version
    and task outcome commit together, all of the batch in one transaction, each inside its own
    savepoint so one that fails is undone alone. A failure keeps the current version, retries
    with backoff and shows on the secret.

    The batch is first rotated dry, in a read-only snapshot (`_plan`): certificates signed,
    versions sealed, every write it would make held. The write transaction (on SQLite, the
    database's one writer) then checks, per rotation, that what the plan read is unchanged
    (the secret, its labels, locks and versions; the templates, CAs and webhooks) and replays
    its writes; only a rotation whose reads changed is done again inside. The batch's rows
    are read in a few queries, its writes go out as one executemany per kind
    (Tx.held_writes), the tasks' fences are checked and held first, and a secret that comes
    twice is rotated the second time after the first is written."""
    now = core.clock()
    failed: list[tuple[tasks.Claimed, CertkeeperError]] = []
    plan = _plan(core, batch, now)
    with core.store.transaction() as tx:
        with tx.held_writes():
            fences = tx.lock_fences([claimed.task.id for claimed in batch])
            live = []
            for claimed in batch:
                if fences.get(claimed.task.id) == claimed.fence:
                    live.append(claimed)
                else:
                    log.warning("task %s: lease lost to another worker; result discarded", claimed.task.id)
            tx.hold_fences({claimed.task.id: claimed.fence for claimed in live})
            stored = tx.snapshot_secrets([c.task.secret_id for c in live if c.task.secret_id], for_update=True)
            if (tx.list_webhooks() != plan.webhooks
                    or any(tx.get_config(name) != config for name, config in plan.configs.items())):
                plan = _Plan({}, {}, {}, [])  # a template, CA or webhook changed since: all again, inside
            rotated: set[str | None] = set()
            for claimed in live:
                secret_id = claimed.task.secret_id or ""
                if secret_id in rotated:
                    tx.write_held()  # its second rotation reads what the first wrote
                    plan.units.pop(secret_id, None)
                rotated.add(secret_id)
                unit = plan.units.get(secret_id)
                if unit is not None and unit.task_id == claimed.task.id and stored.get(secret_id) == unit.reads:
                    tx.replay(unit.writes)
                    continue
                try:
                    with tx.savepoint():
                        _rotate(tx, core, claimed, now, plan.prepared.get(secret_id))
                except tasks.StaleLease:
                    log.warning("task %s: lease lost to another worker; result discarded", claimed.task.id)
                except CertkeeperError as exc:
                    failed.append((claimed, exc))
        if before_commit is not None:
            before_commit(batch)
    for claimed, exc in failed:
        _record_failure(core, claimed, exc, now)


@dataclass(frozen=True, slots=True)
class _Unit:
    task_id: str
    reads: tuple[Any, ...] = field(repr=False)  # the secret's rows as stored when planned (sealed payloads among them)
    writes: list[Any]  # the writes its rotation held


@dataclass(frozen=True, slots=True)
class _Plan:
    units: dict[str, _Unit]  # by secret id
    prepared: dict[str, version_ops.Prepared]  # new versions made, for rotations that could not be planned whole
    configs: dict[str, Any]  # the configurations read, by name
    webhooks: list[Any]


def _plan(core: Core, batch: list[tasks.Claimed], now: datetime) -> _Plan:
    """Rotate the batch dry in a read-only snapshot: per secret, what it read and the writes it
    held. One whose writes cannot all be held (an event a webhook wants needs its id) keeps its
    new version's material; one that fails is left to the write transaction to fail."""
    units: dict[str, _Unit] = {}
    prepared: dict[str, version_ops.Prepared] = {}
    with core.store.reader(one_snapshot=True) as tx, tx.held_writes(dry=True):
        hooks = tx.list_webhooks()
        ids = list(dict.fromkeys(c.task.secret_id for c in batch if c.task.secret_id))
        stored = tx.prefetch_secrets(ids)  # the rows as stored, for the write transaction to compare
        tx.hold_fences({claimed.task.id: claimed.fence for claimed in batch})  # checked by the write transaction
        for claimed in batch:
            secret_id = claimed.task.secret_id
            reads = tx.peek_prefetched(secret_id) if secret_id else None
            if reads is None or secret_id in units or secret_id in prepared:
                continue
            made = version_ops.prepare_version(tx, core, SYSTEM, reads[0], now)
            if made is None:
                continue
            mark = tx.held_count()
            try:
                with tx.savepoint():
                    _rotate(tx, core, claimed, now, made)
            except CannotHold:
                prepared[secret_id] = made
                continue
            except CertkeeperError:
                continue
            units[secret_id] = _Unit(claimed.task.id, stored[secret_id], tx.held_since(mark))
        return _Plan(units, prepared, tx.configs_read(), hooks)


def _rotate(tx: Tx, core: Core, claimed: tasks.Claimed, now: datetime,
            prepared: version_ops.Prepared | None = None) -> None:
    secret_id = claimed.task.secret_id
    assert secret_id is not None
    view = version_ops.create_version_in(tx, core, SYSTEM, secret_id, {}, auto_rotated=True, prepared=prepared,
                                         rotation_state=lambda attributes: _state(attributes, "idle", None))
    tasks.succeed(tx, claimed, now, {"version_id": view.version.id})


def _record_failure(core: Core, claimed: tasks.Claimed, exc: CertkeeperError, now: datetime) -> None:
    secret_id = claimed.task.secret_id
    try:
        with core.store.transaction() as tx:
            next_at = tasks.fail(tx, claimed, now, type(exc).__name__, exc.message, retry=not isinstance(exc, NotFound))
            secret = tx.get_secret(secret_id) if secret_id else None
            if secret is not None:
                error = {"code": type(exc).__name__, "message": exc.message,
                         "next_attempt": next_at.isoformat() if next_at else None}
                tx.update_secret(secret.id, attributes=_state(secret.attributes, "failed", error))
                events.emit(tx, now, events.EventType.SECRET_ROTATION_FAILED, secret,
                            {"error_code": error["code"], "task_id": claimed.task.id})
    except tasks.StaleLease:
        log.warning("task %s: lease lost to another worker; failure not recorded", claimed.task.id)


def _state(attributes: dict[str, Any], state: str, error: dict[str, Any] | None) -> dict[str, Any]:
    out = attributes | {"rotation_state": state, "last_rotation_failed": error is not None}
    if error is None:
        out.pop("rotation_error", None)
    else:
        out["rotation_error"] = error
    return out


HANDLERS = {TaskKind.ROTATION: run_rotations}
