"""Due tasks indexed in the order they are claimed: (status, run_after, id).

A claim takes the first due tasks by (run_after, id). With the index on (status, run_after)
alone, tasks queued together (a scheduler pass queues up to 500 with one run_after) had to
be sorted by id first, all of them, before the first few could be taken.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:20:00
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_tasks_due', table_name='tasks')
    op.create_index('ix_tasks_due', 'tasks', ['status', 'run_after', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tasks_due', table_name='tasks')
    op.create_index('ix_tasks_due', 'tasks', ['status', 'run_after'], unique=False)
