"""Public certificates whose renewal date a rotation-policy patch had cleared get it back.

Before this release a metadata patch of `rotation` recomputed a public certificate's
next_rotation_date as an interval from its current version, which its policy does not
have: the date became null and the scheduler, which finds due work by it, would never
renew the certificate. Each such certificate (auto_rotate on, issued, no order or rotation
under way) is due again `renew_before` (default 31 days) ahead of its expiry, but not before
a third of its life has passed, as an issued order dates it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:50:00
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from lifecycle.durations import parse_duration
from lifecycle.store.schema import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

DEFAULT_RENEW_BEFORE = timedelta(days=31)
UNFINISHED = ("queued", "processing", "waiting")


def upgrade() -> None:
    bind = op.get_bind()
    secrets = sa.table("secrets", sa.column("id"), sa.column("secret_type"), sa.column("attributes", sa.JSON()),
                       sa.column("expiration_date", UTCDateTime()), sa.column("next_rotation_date", UTCDateTime()))
    tasks = sa.table("tasks", sa.column("secret_id"), sa.column("status"))
    busy = sa.select(tasks.c.secret_id).where(tasks.c.status.in_(UNFINISHED), tasks.c.secret_id.is_not(None))
    rows = bind.execute(sa.select(secrets.c.id, secrets.c.attributes, secrets.c.expiration_date).where(
        secrets.c.secret_type == "public_cert", secrets.c.next_rotation_date.is_(None),
        secrets.c.expiration_date.is_not(None), secrets.c.id.not_in(busy))).all()
    for secret_id, attributes, expiration in rows:
        policy = (attributes or {}).get("rotation") or {}
        if not policy.get("auto_rotate"):
            continue
        try:
            before = parse_duration(policy["renew_before"], "renew_before") if policy.get("renew_before") else None
        except Exception:  # a value the release that stored it took: renew on the default
            before = None
        due = expiration.astimezone(UTC) - (before or DEFAULT_RENEW_BEFORE)
        issued = ((attributes or {}).get("validity") or {}).get("not_before")
        if issued:  # never before a third of its life (rotation.renewal_date)
            start = datetime.fromisoformat(issued)
            due = max(due, start + (expiration.astimezone(UTC) - start) / 3)
        bind.execute(sa.update(secrets).where(secrets.c.id == secret_id).values(next_rotation_date=due))


def downgrade() -> None:
    pass  # the dates restored are right under every release
