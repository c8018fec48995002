"""Store methods for tasks, events, webhooks, audit events and API tokens."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, literal_column, select, union_all, update

from lifecycle.records import (
    AuditRecord,
    EventRecord,
    SecretRecord,
    TaskRecord,
    TokenRecord,
    WebhookRecord,
)
from lifecycle.store import schema as t
from lifecycle.store.tx_base import TxBase, _insert_statement, _record, _row
from lifecycle.store.tx_secrets import expired_active, expiry_notice_due, first_due, rotation_due
from lifecycle.vocabulary import UNFINISHED_TASK, TaskStatus

_INSERT_EVENT = insert(t.events).returning(t.events.c.id)
_GET_TOKEN = select(t.api_tokens).where(t.api_tokens.c.id == bindparam("id"))
_UPDATE_TASK = update(t.tasks).where(t.tasks.c.id == bindparam("row_id"))
_UPDATE_TASK_FENCED = _UPDATE_TASK.where(t.tasks.c.fence == bindparam("expect_fence"))


def _kind_params(kinds: Sequence[str]) -> dict[str, Any]:
    """The bind parameters of the walks for ``kinds``: one per kind, and the list."""
    if not kinds:
        raise ValueError("a claim names the task kinds it can run")
    return {"kinds": list(kinds), **{f"kind_{i}": kind for i, kind in enumerate(kinds)}}


def _runnable_walks(limit: Any, kinds: int, skip_locked: bool) -> Any:
    """The first ``limit`` runnable tasks of ``kinds`` kinds by (run_after, id), as ordered
    index walks that each stop at ``limit``, merged: per kind, its queued tasks due, by
    ix_tasks_queued (kind, run_after, id); and expired leases of any of them, by
    ix_tasks_lease. As one OR, both backends gathered every queued task and sorted them all
    to take the first few, a cost that grew with the queue (a claim with 10,000 queued took
    9.1 ms on SQLite, under the write lock); PostgreSQL's bitmap scan for it also visited
    every dead index entry a finished task left, each time. A walk of the queue by time
    alone, filtering kinds, read all of a backlog of rotations to find no webhook delivery
    due (4 ms a look on PostgreSQL at 10,000). Both indexes are partial, by status, and the
    statuses are written into the SQL so a planner can prove them: with status-led indexes,
    PostgreSQL, its statistics taken while nothing was queued, walked the queue by the lease
    index and sorted all of it (10 ms a claim mid-backlog). On PostgreSQL with
    ``skip_locked`` each walk locks its rows (SKIP LOCKED)."""
    k = t.tasks.c
    now = bindparam("now")

    def walk(*conditions: Any) -> Any:
        q = select(k.id, k.run_after).where(*conditions).order_by(k.run_after, k.id).limit(limit)
        if skip_locked:
            q = q.with_for_update(skip_locked=True)
        return q.subquery().select()

    queued = [walk(k.status == literal_column("'queued'"), k.kind == bindparam(f"kind_{i}"), k.run_after <= now)
              for i in range(kinds)]
    leases = walk(k.status == literal_column("'processing'"), k.kind.in_(bindparam("kinds", expanding=True)),
                  k.lease_expires < now)
    return union_all(*queued, leases).subquery("runnable")


@functools.cache
def _claim_due(kinds: int, skip_locked: bool) -> Any:
    """Lease the first ``limit`` runnable tasks of ``kinds`` kinds in one statement, returning
    them as leased.

    On PostgreSQL the rows are picked and locked inside a MATERIALIZED CTE, run once: as an
    `IN (subquery)` the planner may run a locking LIMIT subquery again while rechecking a row
    another transaction changed, and lease more than ``limit``. On SQLite, the one writer,
    the subquery is plain."""
    k = t.tasks.c
    limit = bindparam("limit")
    runnable = _runnable_walks(limit, kinds, skip_locked)
    due = select(runnable.c.id).order_by(runnable.c.run_after, runnable.c.id).limit(limit)
    leased = update(t.tasks).values(
        status=TaskStatus.PROCESSING, lease_owner=bindparam("owner"), lease_expires=bindparam("lease_expires"),
        attempts=k.attempts + 1, fence=k.fence + 1, updated_at=bindparam("now"))
    if skip_locked:
        picked = due.cte("due").prefix_with("MATERIALIZED")
        return leased.where(k.id == picked.c.id).returning(*t.tasks.c)
    return leased.where(k.id.in_(due.scalar_subquery())).returning(*t.tasks.c)


@functools.cache
def _any_due_task(kinds: int) -> Any:
    runnable = _runnable_walks(1, kinds, skip_locked=False)
    return select(runnable.c.id).limit(1)


def _scheduled_work() -> Any:
    """One row if any of the scheduler's three kinds of work is due, each found by its index.
    Each probe is ordered as its pass reads, by (date, id), which its index alone holds in that
    order: unordered, PostgreSQL planned a LIMIT 1 probe as a sequential scan whenever its
    statistics were taken while many secrets were due (as after a backlog), and then read the
    whole, bloated, table each time none was; ordered by the expiry date alone, SQLite walked
    every secret by ix_secrets_expiration_date, those long deactivated too."""
    now, s = bindparam("now"), t.secrets.c
    due = [(rotation_due(now), s.next_rotation_date), (expiry_notice_due(now), s.next_expiry_notice),
           (expired_active(now), s.expiration_date)]
    return union_all(*(select(s.id).where(*conditions).order_by(by, s.id).limit(1).subquery().select()
                       for conditions, by in due))


_SCHEDULED_WORK = _scheduled_work()
_DUE_EXPIRY_NOTICES = first_due([t.secrets], expiry_notice_due, t.secrets.c.next_expiry_notice)
_LIST_WEBHOOKS = select(t.webhooks).order_by(t.webhooks.c.created_at, t.webhooks.c.id)


class WorkTx(TxBase):
    # -- tasks --------------------------------------------------------------
    def insert_task(self, task: TaskRecord) -> None:
        if not self._hold("task_insert", _insert_statement(t.tasks), _row(task), ("tasks", task.id)):
            self._insert(t.tasks, _row(task), "task id collision")
        self.queued_tasks = self.queued_tasks or task.status == TaskStatus.QUEUED

    def get_task(self, task_id: str) -> TaskRecord | None:
        row = self._c.execute(select(t.tasks).where(t.tasks.c.id == task_id)).first()
        return _record(TaskRecord, row) if row else None

    def list_tasks(self, secret_id: str, limit: int = 100) -> list[TaskRecord]:
        k = t.tasks.c
        q = select(t.tasks).where(k.secret_id == secret_id).order_by(k.created_at.desc(), k.id).limit(limit)
        return [_record(TaskRecord, r) for r in self._c.execute(q)]

    def claim_due_tasks(self, now: datetime, limit: int, kinds: Sequence[str], *, owner: str,
                        lease_expires: datetime) -> list[TaskRecord]:
        """Lease runnable tasks of ``kinds`` (queued and due, or processing with an expired
        lease), oldest first: each becomes processing under ``owner``, one attempt more, its
        fence bumped. One statement; rows are locked with SKIP LOCKED on PostgreSQL, so
        concurrent claimers never share one, and on SQLite it runs as the only writer."""
        params = {"now": now, "limit": limit, "owner": owner, "lease_expires": lease_expires, **_kind_params(kinds)}
        claim = _claim_due(len(kinds), self._for_update)
        rows = [_record(TaskRecord, r) for r in self._c.execute(claim, params)]
        return sorted(rows, key=lambda task: (task.run_after, task.id))

    def any_due_task(self, now: datetime, kinds: Sequence[str]) -> bool:
        """Whether claim_due_tasks would find one: a look that takes no lock, before a claim that does."""
        return self._c.execute(_any_due_task(len(kinds)), {"now": now, **_kind_params(kinds)}).first() is not None

    def update_task(self, task_id: str, *, expect_fence: int | None = None, **changes: Any) -> bool:
        """Update a task; with ``expect_fence``, only while that fence still holds. True if a row changed.
        Inside held_writes(), a fenced update of a task whose fence this transaction holds is held."""
        if expect_fence is not None and self._fences.get(task_id) == expect_fence:
            params = {"row_id": task_id, "expect_fence": expect_fence, **changes}
            if self._hold("task_update", _UPDATE_TASK_FENCED, params, ("tasks", task_id)):
                self._fences[task_id] = changes.get("fence", expect_fence)
                self.queued_tasks = self.queued_tasks or changes.get("status") == TaskStatus.QUEUED
                return True
        if expect_fence is None:
            result = self._c.execute(_UPDATE_TASK, {"row_id": task_id, **changes})
        else:
            result = self._c.execute(_UPDATE_TASK_FENCED, {"row_id": task_id, "expect_fence": expect_fence, **changes})
        changed = bool(result.rowcount)
        self.queued_tasks = self.queued_tasks or (changed and changes.get("status") == TaskStatus.QUEUED)
        return changed

    def hold_fences(self, fences: dict[str, int]) -> None:
        """Inside held_writes(): these tasks' rows, read in this transaction, stay at these fences
        until it ends (SQLite: the transaction is the only writer; PostgreSQL: the rows are
        locked), so fenced updates of them can be held."""
        self._fences.update(fences)

    def lock_fences(self, task_ids: Sequence[str]) -> dict[str, int]:
        """The tasks' fences now, their rows locked on PostgreSQL until this transaction ends."""
        ids = sorted(set(task_ids))
        if not ids:
            return {}
        q = select(t.tasks.c.id, t.tasks.c.fence).where(t.tasks.c.id.in_(ids)).order_by(t.tasks.c.id)
        return {row.id: int(row.fence) for row in self._c.execute(q.with_for_update() if self._for_update else q)}

    def active_task(self, secret_id: str, kinds: Sequence[str]) -> TaskRecord | None:
        k = t.tasks.c
        q = select(t.tasks).where(k.secret_id == secret_id, k.kind.in_(list(kinds)), k.status.in_(UNFINISHED_TASK))
        row = self._c.execute(q.limit(1)).first()
        return _record(TaskRecord, row) if row else None

    def count_active_tasks_of_secrets_with_attribute(self, kind: str, key: str, value: str) -> int:
        """Active tasks (not yet ended) of ``kind`` whose secret has attribute ``key`` = ``value``."""
        s, k = t.secrets.c, t.tasks.c
        q = select(func.count()).select_from(t.tasks.join(t.secrets, k.secret_id == s.id)).where(
            k.kind == kind, k.status.in_(UNFINISHED_TASK), s.attributes[key].as_string() == value)
        return int(self._c.execute(q).scalar_one())

    # -- events and webhooks -----------------------------------------------
    def insert_event(self, event: EventRecord, *, want_id: bool = True) -> int | None:
        """Store an event; its id when ``want_id`` (without, inside held_writes(), it is held)."""
        values = _row(event)
        values.pop("id")
        if not want_id and self._hold("event_insert", _insert_statement(t.events), values, ("events", id(values))):
            return None
        result = self._c.execute(_INSERT_EVENT, values)
        return int(result.scalar_one())

    def list_events(
        self, *, event_types: Sequence[str] | None, secret_id: str | None, groups: Sequence[str] | None,
        since: datetime | None, after_id: int | None, limit: int,
    ) -> list[EventRecord]:
        e = t.events.c
        q = select(t.events).order_by(e.id).limit(limit)
        if event_types:
            q = q.where(e.event_type.in_(list(event_types)))
        if secret_id:
            q = q.where(e.secret_id == secret_id)
        if groups is not None:
            q = q.where(e.secret_group_id.in_(list(groups)))
        if since is not None:
            q = q.where(e.at >= since)
        if after_id is not None:
            q = q.where(e.id > after_id)
        return [_record(EventRecord, r) for r in self._c.execute(q)]

    def get_event(self, event_id: int) -> EventRecord | None:
        row = self._c.execute(select(t.events).where(t.events.c.id == event_id)).first()
        return _record(EventRecord, row) if row else None

    def secrets_due_expiry_notice(self, now: datetime, limit: int) -> list[SecretRecord]:
        q = _DUE_EXPIRY_NOTICES[self._for_update]
        return [_record(SecretRecord, r) for r in self._c.execute(q, {"now": now, "limit": limit})]

    def scheduled_work_due(self, now: datetime) -> bool:
        """Whether the scheduler has anything to do: a rotation, an expiry notice or an expiry due
        (what secrets_due_for_rotation, secrets_due_expiry_notice and secrets_expired_but_active
        find, by the same conditions)."""
        return self._c.execute(_SCHEDULED_WORK, {"now": now}).first() is not None

    def insert_webhook(self, hook: WebhookRecord) -> None:
        self._memo.pop("webhooks", None)
        self._insert(t.webhooks, _row(hook), "webhook id collision")

    def get_webhook(self, hook_id: str) -> WebhookRecord | None:
        row = self._c.execute(select(t.webhooks).where(t.webhooks.c.id == hook_id)).first()
        return _record(WebhookRecord, row) if row else None

    def list_webhooks(self) -> list[WebhookRecord]:
        """Every webhook; read once per transaction (each event emitted asks again)."""
        hooks = self._memo.get("webhooks")
        if hooks is None:
            hooks = self._memo["webhooks"] = [_record(WebhookRecord, r) for r in self._c.execute(_LIST_WEBHOOKS)]
        return list(hooks)

    def update_webhook(self, hook_id: str, **changes: Any) -> None:
        self._memo.pop("webhooks", None)
        self._c.execute(update(t.webhooks).where(t.webhooks.c.id == hook_id).values(**changes))

    def delete_webhook(self, hook_id: str) -> None:
        self._memo.pop("webhooks", None)
        self._c.execute(delete(t.webhooks).where(t.webhooks.c.id == hook_id))

    def tasks_of_kind(self, kind: str, param_key: str, param_value: str, limit: int) -> list[TaskRecord]:
        k = t.tasks.c
        q = (select(t.tasks).where(k.kind == kind, k.params[param_key].as_string() == param_value)
             .order_by(k.created_at.desc(), k.id).limit(limit))
        return [_record(TaskRecord, r) for r in self._c.execute(q)]

    # -- audit ------------------------------------------------------------
    def insert_audit(self, event: AuditRecord) -> None:
        values = _row(event)
        values.pop("id")
        if not self._hold("audit_insert", _insert_statement(t.audit_events), values, ("audit_events", id(values))):
            self._c.execute(_insert_statement(t.audit_events), values)

    def list_audit(self, limit: int = 100) -> list[AuditRecord]:
        q = select(t.audit_events).order_by(t.audit_events.c.id.desc()).limit(limit)
        return [_record(AuditRecord, r) for r in self._c.execute(q)]

    # -- tokens -----------------------------------------------------------
    def insert_token(self, token: TokenRecord) -> None:
        self._insert(t.api_tokens, _row(token), "token id collision")

    def get_token(self, token_id: str) -> TokenRecord | None:
        row = self._c.execute(_GET_TOKEN, {"id": token_id}).first()
        return _record(TokenRecord, row) if row else None

    def count_tokens(self) -> int:
        return int(self._c.execute(select(func.count()).select_from(t.api_tokens)).scalar_one())

    def list_tokens(self) -> list[TokenRecord]:
        q = select(t.api_tokens).order_by(t.api_tokens.c.created_at, t.api_tokens.c.id)
        return [_record(TokenRecord, r) for r in self._c.execute(q)]

    def revoke_token(self, token_id: str, now: datetime) -> bool:
        """Mark the token revoked (kept: its audit events name it); False when it already was."""
        k = t.api_tokens.c
        done = self._c.execute(update(t.api_tokens).where(k.id == token_id, k.revoked_at.is_(None)).values(revoked_at=now))
        return bool(done.rowcount)

    def root_keys_in_use_besides(self, known: Sequence[str]) -> list[str]:
        """Ids of root keys that sealed stored values (versions, CA keys current and retired,
        account keys, webhook keys), other than ``known``: one pass over each table's key_id index."""
        found: set[str] = set()
        for table in (t.secret_versions, t.configurations, t.ca_keys, t.webhooks):
            q = select(table.c.key_id).where(table.c.key_id.is_not(None), table.c.key_id.not_in(list(known))).distinct()
            found.update(self._c.execute(q).scalars())
        return sorted(found)

