"""Audit events: who did what to which target, and how it ended. Never a value."""

from __future__ import annotations

from datetime import datetime

from lifecycle.core import Actor
from lifecycle.records import AuditRecord
from lifecycle.store import SqlStore, Tx


def record(tx: Tx, actor: Actor, at: datetime, action: str, target: str, outcome: str = "success") -> None:
    """Write an event inside the caller's transaction, so it commits with the change."""
    tx.insert_audit(AuditRecord(at, actor.token_id, action, target[:160], outcome, actor.request_id))


def record_failure(store: SqlStore, actor: Actor, at: datetime, action: str, target: str, outcome: str) -> None:
    """Write an event for a request that failed; its own transaction, since the request's rolled back."""
    with store.transaction() as tx:
        record(tx, actor, at, action, target, outcome)
