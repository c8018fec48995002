"""Tasks: background work with leases. Workers claim due tasks, run them, and record the
outcome under the fence they claimed with; a worker that died loses its lease, another
claims the task, and a late write from the dead one is rejected.

Failures retry with capped exponential backoff and jitter; attempts, the last error and
the next attempt time stay visible on the task.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lifecycle.errors import Conflict, LifecycleError
from lifecycle.ids import new_id
from lifecycle.records import TaskRecord
from lifecycle.store import SqlStore, Tx
from lifecycle.vocabulary import TaskStatus

DEFAULT_LEASE = timedelta(minutes=5)  # longer than any one step of an ACME order
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=24)  # public certificates retry at least daily until they expire
JITTER = 0.2  # +/- 20%: retries of a fleet spread out instead of arriving together


class StaleLease(LifecycleError):
    """The task was claimed again by someone else; this worker's result is discarded."""


@dataclass(frozen=True, slots=True)
class Claimed:
    task: TaskRecord
    owner: str

    @property
    def fence(self) -> int:
        return self.task.fence


def new_task(
    tx: Tx, *, kind: str, trigger: str, secret_id: str | None, params: dict[str, Any], created_by: str,
    now: datetime, run_after: datetime | None = None, status: str = TaskStatus.QUEUED,
) -> TaskRecord:
    task = TaskRecord(
        id=new_id(now), secret_id=secret_id, kind=kind, trigger=trigger, status=status, params=params,
        result=None, attempts=0, run_after=run_after or now, lease_owner=None, lease_expires=None, fence=0,
        last_error_code=None, last_error=None, created_by=created_by, created_at=now, updated_at=now,
    )
    tx.insert_task(task)
    return task


def claim(store: SqlStore, owner: str, now: datetime, *, kinds: list[str], limit: int = 1,
          lease: timedelta = DEFAULT_LEASE) -> list[Claimed]:
    """Take the leases of up to ``limit`` due tasks of ``kinds`` (those the caller can run) in
    one transaction; each claim bumps the fence. With none due, no write transaction is opened
    (an idle poll takes no write lock)."""
    with store.reader() as tx:
        if not tx.any_due_task(now, kinds):
            return []
    with store.transaction() as tx:
        leased = tx.claim_due_tasks(now, limit, kinds, owner=owner, lease_expires=now + lease)
    return [Claimed(task, owner) for task in leased]


def _guarded(tx: Tx, claimed: Claimed, **changes: Any) -> None:
    if not tx.update_task(claimed.task.id, expect_fence=claimed.fence, **changes):
        raise StaleLease(f"task '{claimed.task.id}' was claimed again after this worker's lease expired")


def succeed(tx: Tx, claimed: Claimed, now: datetime, result: dict[str, Any] | None = None) -> None:
    """Record success inside the transaction that applies the task's effect; raises StaleLease."""
    _guarded(tx, claimed, status=TaskStatus.SUCCEEDED, result=result, lease_owner=None, lease_expires=None,
             last_error_code=None, last_error=None, updated_at=now)


def wait(tx: Tx, claimed: Claimed, now: datetime, result: dict[str, Any] | None = None) -> None:
    """Park the task until someone re-queues it (a manual DNS order waiting for the user)."""
    _guarded(tx, claimed, status=TaskStatus.WAITING, result=result, lease_owner=None, lease_expires=None, updated_at=now)


def retry_at(attempts: int, now: datetime, rng: random.Random | None = None) -> datetime:
    """Capped exponential backoff with jitter: 30 s, 1 min, 2 min ... up to a day."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    spread = 1 + (rng or random).uniform(-JITTER, JITTER)
    return now + delay * spread


def fail(tx: Tx, claimed: Claimed, now: datetime, code: str, message: str, *, retry: bool,
         rng: random.Random | None = None) -> datetime | None:
    """Record a failure; with ``retry`` the task is queued again after the backoff. Raises StaleLease."""
    next_at = retry_at(claimed.task.attempts, now, rng) if retry else None
    _guarded(tx, claimed, status=TaskStatus.QUEUED if retry else TaskStatus.FAILED, run_after=next_at or claimed.task.run_after,
             lease_owner=None, lease_expires=None, last_error_code=code[:96], last_error=message[:2000], updated_at=now)
    return next_at


def requeue(tx: Tx, task: TaskRecord, now: datetime, params: dict[str, Any] | None = None) -> None:
    """Make a waiting task runnable now."""
    if task.status != TaskStatus.WAITING:
        raise Conflict(f"task '{task.id}' is {task.status}, not waiting")
    changes: dict[str, Any] = {"status": TaskStatus.QUEUED, "run_after": now, "updated_at": now}
    if params is not None:
        changes["params"] = params
    tx.update_task(task.id, expect_fence=task.fence, **changes)
