"""An index of active secrets by expiry date.

The scheduler looks for expired secrets that are still active, to deactivate them, on each
pass (and, with nothing due, in the read-only look before it). With only expiration_date
indexed, that range scan walked every secret that ever expired and was deactivated, a list
that only grows; the partial index holds active secrets alone (state = 1, State.ACTIVE).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_secrets_active_expiration', 'secrets', ['expiration_date'], unique=False,
                    sqlite_where=sa.text('state = 1'), postgresql_where=sa.text('state = 1'))


def downgrade() -> None:
    op.drop_index('ix_secrets_active_expiration', table_name='secrets')
