"""Initial schema: groups (with the built-in `default`), secrets, versions, stage labels,
locks, audit events and API tokens.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 02:58:16.467256
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from lifecycle.store.schema import UTCDateTime

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('token_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=160), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_at', ['at'], unique=False)

    op.create_table('secret_groups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('secrets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('secret_group_id', sa.String(length=36), nullable=False),
    sa.Column('secret_type', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('custom_metadata', sa.JSON(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('expiration_date', UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('retrieved_at', UTCDateTime(), nullable=True),
    sa.Column('downloaded', sa.Boolean(), nullable=False),
    sa.Column('versions_total', sa.Integer(), nullable=False),
    sa.Column('locks_total', sa.Integer(), nullable=False),
    sa.Column('next_rotation_date', UTCDateTime(), nullable=True),
    sa.Column('client_request_token', sa.String(length=64), nullable=True),
    sa.Column('request_fingerprint', sa.String(length=96), nullable=True),
    sa.ForeignKeyConstraint(['secret_group_id'], ['secret_groups.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_request_token'),
    sa.UniqueConstraint('secret_group_id', 'secret_type', 'name', name='uq_secrets_group_type_name')
    )
    with op.batch_alter_table('secrets', schema=None) as batch_op:
        batch_op.create_index('ix_secrets_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_secrets_expiration_date', ['expiration_date'], unique=False)
        batch_op.create_index('ix_secrets_name', ['name'], unique=False)
        batch_op.create_index('ix_secrets_next_rotation_date', ['next_rotation_date'], unique=False)

    op.create_table('secret_labels',
    sa.Column('secret_id', sa.String(length=36), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['secret_id'], ['secrets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('secret_id', 'label', name='pk_secret_labels')
    )
    with op.batch_alter_table('secret_labels', schema=None) as batch_op:
        batch_op.create_index('ix_secret_labels_label', ['label'], unique=False)

    op.create_table('secret_versions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('secret_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=True),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.Column('custom_metadata', sa.JSON(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('downloaded', sa.Boolean(), nullable=False),
    sa.Column('auto_rotated', sa.Boolean(), nullable=False),
    sa.Column('client_request_token', sa.String(length=64), nullable=True),
    sa.Column('request_fingerprint', sa.String(length=96), nullable=True),
    sa.ForeignKeyConstraint(['secret_id'], ['secrets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_id', 'client_request_token', name='uq_versions_secret_token'),
    sa.UniqueConstraint('secret_id', 'seq', name='uq_versions_secret_seq')
    )
    with op.batch_alter_table('secret_versions', schema=None) as batch_op:
        batch_op.create_index('ix_versions_key_id', ['key_id'], unique=False)

    op.create_table('locks',
    sa.Column('secret_id', sa.String(length=36), nullable=False),
    sa.Column('version_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['secret_id'], ['secrets.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['secret_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'name', name='pk_locks')
    )
    with op.batch_alter_table('locks', schema=None) as batch_op:
        batch_op.create_index('ix_locks_secret', ['secret_id'], unique=False)

    op.create_table('version_stages',
    sa.Column('secret_id', sa.String(length=36), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['secret_id'], ['secrets.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['secret_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('secret_id', 'stage', name='pk_version_stages')
    )
    with op.batch_alter_table('version_stages', schema=None) as batch_op:
        batch_op.create_index('ix_version_stages_version', ['version_id'], unique=False)
    now = datetime.now(UTC)
    groups = sa.table(
        "secret_groups",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("created_by", sa.String),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    op.bulk_insert(groups, [{
        "id": "default", "name": "default", "description": "The built-in secret group.",
        "created_by": "certkeeper", "created_at": now, "updated_at": now,
    }])


def downgrade() -> None:

    with op.batch_alter_table('version_stages', schema=None) as batch_op:
        batch_op.drop_index('ix_version_stages_version')

    op.drop_table('version_stages')
    with op.batch_alter_table('locks', schema=None) as batch_op:
        batch_op.drop_index('ix_locks_secret')

    op.drop_table('locks')
    with op.batch_alter_table('secret_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_versions_key_id')

    op.drop_table('secret_versions')
    with op.batch_alter_table('secret_labels', schema=None) as batch_op:
        batch_op.drop_index('ix_secret_labels_label')

    op.drop_table('secret_labels')
    with op.batch_alter_table('secrets', schema=None) as batch_op:
        batch_op.drop_index('ix_secrets_next_rotation_date')
        batch_op.drop_index('ix_secrets_name')
        batch_op.drop_index('ix_secrets_expiration_date')
        batch_op.drop_index('ix_secrets_created_at')

    op.drop_table('secrets')
    op.drop_table('secret_groups')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_at')

    op.drop_table('audit_events')
    op.drop_table('api_tokens')

