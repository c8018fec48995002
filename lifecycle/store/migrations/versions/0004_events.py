"""Events, webhooks, and the next about-to-expire notice per secret.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:48:36.084738
"""

import sqlalchemy as sa
from alembic import op

from lifecycle.store.schema import UTCDateTime

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('secret_id', sa.String(length=36), nullable=True),
    sa.Column('secret_group_id', sa.String(length=36), nullable=True),
    sa.Column('secret_type', sa.String(length=32), nullable=True),
    sa.Column('secret_name', sa.String(length=256), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_at', ['at'], unique=False)
        batch_op.create_index('ix_events_secret', ['secret_id'], unique=False)
        batch_op.create_index('ix_events_type_at', ['event_type', 'at'], unique=False)

    op.create_table('webhooks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('key_payload', sa.LargeBinary(), nullable=False),
    sa.Column('key_wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('secrets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_expiry_notice', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_secrets_next_expiry_notice', ['next_expiry_notice'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('secrets', schema=None) as batch_op:
        batch_op.drop_index('ix_secrets_next_expiry_notice')
        batch_op.drop_column('next_expiry_notice')

    op.drop_table('webhooks')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_type_at')
        batch_op.drop_index('ix_events_secret')
        batch_op.drop_index('ix_events_at')

    op.drop_table('events')

