"""Keys a CA signed with before `rotate_intermediate` gave it a new one.

Until this release a rotation dropped the old key, so the CA's CRL, signed by the new key
only, could not be verified for certificates the old key had issued. Each rotation now
keeps the old key (sealed), its certificate and a CRL of its own.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 14:40:00
"""

import sqlalchemy as sa
from alembic import op

from lifecycle.store.schema import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ca_keys',
    sa.Column('ca_name', sa.String(length=128), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('certificate', sa.Text(), nullable=False),
    sa.Column('not_after', UTCDateTime(), nullable=False),
    sa.Column('key_payload', sa.LargeBinary(), nullable=False),
    sa.Column('key_wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('crl_der', sa.LargeBinary(), nullable=True),
    sa.Column('crl_number', sa.Integer(), nullable=False),
    sa.Column('crl_next_update', UTCDateTime(), nullable=True),
    sa.Column('retired_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('ca_name', 'generation', name='pk_ca_keys')
    )
    with op.batch_alter_table('ca_keys', schema=None) as batch_op:
        batch_op.create_index('ix_ca_keys_key_id', ['key_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ca_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_ca_keys_key_id')
    op.drop_table('ca_keys')
