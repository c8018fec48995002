"""Tasks: leased background work (ACME orders, rotations).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:33:37.692573
"""

import sqlalchemy as sa
from alembic import op

from lifecycle.store.schema import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('tasks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('secret_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('trigger', sa.String(length=48), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', UTCDateTime(), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_expires', UTCDateTime(), nullable=True),
    sa.Column('fence', sa.Integer(), nullable=False),
    sa.Column('last_error_code', sa.String(length=96), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_due', ['status', 'run_after'], unique=False)
        batch_op.create_index('ix_tasks_secret', ['secret_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_secret')
        batch_op.drop_index('ix_tasks_due')

    op.drop_table('tasks')

