"""Data migrations, on SQLite and PostgreSQL: rows stored by an older release come out right."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import insert

from fixtures.records import secret_record
from lifecycle.records import TaskRecord
from lifecycle.store import SqlStore
from lifecycle.store import schema as t
from lifecycle.store.engine import make_engine
from lifecycle.store.migrate import alembic_config
from lifecycle.store.tx_base import _row

EXPIRES = datetime(2027, 3, 2, tzinfo=UTC)


def test_migration_0011_gives_public_certificates_their_renewal_date_back(database_url: str) -> None:
    engine = make_engine(database_url)

    def public(i: int, rotation: dict[str, object], **over: object):  # type: ignore[no-untyped-def]
        values: dict[str, object] = {"next_rotation_date": None} | over
        return secret_record(i, secret_type="public_cert", attributes={"rotation": rotation}, expiration_date=EXPIRES,
                             **values)

    cleared = public(1, {"auto_rotate": True, "rotate_keys": False})  # what the patch bug left
    earlier = public(2, {"auto_rotate": True, "renew_before": "40d"})
    manual = public(3, {"auto_rotate": False})
    ordering = public(4, {"auto_rotate": True})  # a renewal under way dates itself
    dated = public(5, {"auto_rotate": True}, next_rotation_date=EXPIRES - timedelta(days=5))
    short = public(6, {"auto_rotate": True})  # lives 32 days: not before a third of them
    short = replace(short, attributes=short.attributes | {
        "validity": {"not_before": (EXPIRES - timedelta(days=32)).isoformat(), "not_after": EXPIRES.isoformat()}})
    queued = public(7, {"auto_rotate": True})
    try:
        command.upgrade(alembic_config(engine), "0010")
        with engine.begin() as conn:
            conn.execute(insert(t.secrets), [_row(s) for s in (cleared, earlier, manual, ordering, dated, short, queued)])
            for task_id, secret, status in (("t1", ordering, "waiting"), ("t2", queued, "queued")):
                task = TaskRecord(id=task_id, kind="public_cert_order", trigger="automatic_secret_rotation",
                                  secret_id=secret.id, status=status, params={}, result=None, attempts=1,
                                  run_after=EXPIRES, lease_owner=None, lease_expires=None, fence=1, last_error=None,
                                  last_error_code=None, created_by="scheduler", created_at=EXPIRES, updated_at=EXPIRES)
                conn.execute(insert(t.tasks), _row(task))
        command.upgrade(alembic_config(engine), "head")
        with SqlStore(engine).reader() as tx:
            dates = [tx.get_secret(s.id).next_rotation_date  # type: ignore[union-attr]
                     for s in (cleared, earlier, manual, ordering, dated, short, queued)]
        assert dates == [EXPIRES - timedelta(days=31), EXPIRES - timedelta(days=40), None, None,
                         EXPIRES - timedelta(days=5), EXPIRES - timedelta(days=32) + timedelta(days=32) / 3, None]
    finally:
        engine.dispose()
