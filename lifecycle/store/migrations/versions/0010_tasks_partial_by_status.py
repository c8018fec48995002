"""Queued tasks (per kind) and leases indexed apart, each index holding its one status.

A claim walks, per kind it can run, queued tasks due by (run_after, id), and leases by
expiry. With both indexes led by the status, PostgreSQL, its statistics taken while nothing
was queued (every task finished), estimated one queued task and walked the queue by the
lease index, sorting all of it for each claim: 10 ms a claim in the middle of a backlog of
10,000 rotations. Partial indexes leave each walk one index to take, whatever the
statistics; led by the kind, a look for webhook deliveries no longer reads a backlog of
rotations to find none (4 ms a look at 10,000).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 15:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _where(status: str) -> dict[str, object]:
    return {"sqlite_where": sa.text(f"status = '{status}'"), "postgresql_where": sa.text(f"status = '{status}'")}


def upgrade() -> None:
    op.drop_index('ix_tasks_due', table_name='tasks')
    op.drop_index('ix_tasks_lease', table_name='tasks')
    op.create_index('ix_tasks_queued', 'tasks', ['kind', 'run_after', 'id'], unique=False, **_where('queued'))
    op.create_index('ix_tasks_lease', 'tasks', ['lease_expires'], unique=False, **_where('processing'))


def downgrade() -> None:
    op.drop_index('ix_tasks_queued', table_name='tasks')
    op.drop_index('ix_tasks_lease', table_name='tasks')
    op.create_index('ix_tasks_due', 'tasks', ['status', 'run_after', 'id'], unique=False)
    op.create_index('ix_tasks_lease', 'tasks', ['status', 'lease_expires'], unique=False)
