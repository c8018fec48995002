"""Events: what happened to a secret, stored in the same transaction as the change and
fanned out to registered webhooks as delivery tasks.

About-to-expire events fire once at each threshold (90, 60, 30, 10, 1 and 0 days
before expiry): `next_expiry_notice` on the secret holds the next threshold's time,
so the scheduler finds due notices by an index instead of scanning secrets.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from lifecycle import tasks
from lifecycle.core import Actor, Core
from lifecycle.errors import InvalidInput
from lifecycle.records import EventRecord, SecretRecord
from lifecycle.store import Tx
from lifecycle.vocabulary import TaskKind

EXPIRY_THRESHOLDS_DAYS = (90, 60, 30, 10, 1, 0)
MAX_LIST = 1000


class EventType(StrEnum):
    SECRET_CREATED = "secret_created"
    SECRET_ROTATED = "secret_rotated"
    SECRET_ROTATION_FAILED = "secret_rotation_failed"
    SECRET_ABOUT_TO_EXPIRE = "secret_about_to_expire"
    SECRET_EXPIRED = "secret_expired"
    SECRET_REVOKED = "secret_revoked"
    SECRET_DELETED = "secret_deleted"
    SECRET_DELETION_BLOCKED = "secret_deletion_blocked"
    SECRET_ROTATION_BLOCKED = "secret_rotation_blocked"
    SECRET_DATA_DELETION_BLOCKED = "secret_data_deletion_blocked"


def emit(tx: Tx, now: datetime, event_type: EventType, secret: SecretRecord | None,
         detail: dict[str, Any] | None = None) -> int | None:
    """Store an event and queue a delivery for every webhook that wants it. Returns the
    event's id when a webhook wants it (deliveries name it), else None."""
    hooks = [hook for hook in tx.list_webhooks() if not hook.event_types or event_type.value in hook.event_types]
    event_id = tx.insert_event(EventRecord(
        at=now, event_type=event_type.value,
        secret_id=secret.id if secret else None, secret_group_id=secret.secret_group_id if secret else None,
        secret_type=secret.secret_type if secret else None, secret_name=secret.name if secret else None,
        detail=detail or {},
    ), want_id=bool(hooks))
    for hook in hooks:
        tasks.new_task(tx, kind=TaskKind.WEBHOOK_DELIVERY, trigger=event_type.value, secret_id=None,
                       params={"webhook_id": hook.id, "event_id": event_id}, created_by="events", now=now)
    return event_id


def emit_alone(core: Core, event_type: EventType, secret: SecretRecord, detail: dict[str, Any] | None = None) -> None:
    """Emit in a transaction of its own: for refusals, whose own transaction rolls back."""
    with core.store.transaction() as tx:
        emit(tx, core.clock(), event_type, secret, detail)


def next_expiry_notice(expiration: datetime | None, now: datetime) -> datetime | None:
    """The first threshold time still ahead of ``now`` (or the 0-day one once expired)."""
    if expiration is None:
        return None
    for days in EXPIRY_THRESHOLDS_DAYS:
        at = expiration - timedelta(days=days)
        if at > now:
            return at
    return None


def notify_expiring(tx: Tx, now: datetime, limit: int) -> int:
    """Emit the due about-to-expire events (one per secret per tick: the latest threshold passed)."""
    due = tx.secrets_due_expiry_notice(now, limit)
    for secret in due:
        assert secret.expiration_date is not None and secret.next_expiry_notice is not None
        threshold = round((secret.expiration_date - secret.next_expiry_notice) / timedelta(days=1))
        emit(tx, now, EventType.SECRET_ABOUT_TO_EXPIRE, secret,
             {"days_left": threshold, "expiration_date": secret.expiration_date.isoformat()})
        tx.update_secret(secret.id, next_expiry_notice=next_expiry_notice(secret.expiration_date, now))
    return len(due)


def list_events(core: Core, actor: Actor, *, event_types: list[str] | None, secret_id: str | None,
                since: datetime | None, after_id: int | None, limit: int) -> list[EventRecord]:
    for name in event_types or ():
        if name not in set(EventType):
            raise InvalidInput(f"event_type: '{name[:60]}' is not an event type", field="event_type")
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit: must be from 1 to {MAX_LIST}", field="limit")
    groups = sorted(actor.groups) if actor.groups is not None else None
    with core.store.reader() as tx:
        return tx.list_events(event_types=event_types, secret_id=secret_id, groups=groups, since=since,
                              after_id=after_id, limit=limit)
