"""Private PKI: configurations (CAs, templates) and revocations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:18:14.127038
"""

import sqlalchemy as sa
from alembic import op

from lifecycle.store.schema import UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('configurations',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('config_type', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('certificate', sa.Text(), nullable=True),
    sa.Column('chain', sa.Text(), nullable=True),
    sa.Column('csr', sa.Text(), nullable=True),
    sa.Column('key_payload', sa.LargeBinary(), nullable=True),
    sa.Column('key_wrapped', sa.LargeBinary(), nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.Column('crl_der', sa.LargeBinary(), nullable=True),
    sa.Column('crl_number', sa.Integer(), nullable=False),
    sa.Column('crl_next_update', UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('configurations', schema=None) as batch_op:
        batch_op.create_index('ix_configurations_key_id', ['key_id'], unique=False)
        batch_op.create_index('ix_configurations_type', ['config_type'], unique=False)

    op.create_table('revocations',
    sa.Column('ca_name', sa.String(length=128), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=False),
    sa.Column('secret_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('ca_name', 'serial', name='pk_revocations')
    )



def downgrade() -> None:

    op.drop_table('revocations')
    with op.batch_alter_table('configurations', schema=None) as batch_op:
        batch_op.drop_index('ix_configurations_type')
        batch_op.drop_index('ix_configurations_key_id')

    op.drop_table('configurations')

