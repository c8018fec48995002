"""Indexed search of secrets and kept counts per group and type.

`secret_search` holds each secret's lowercased id, name, description, type and labels. On
PostgreSQL a pg_trgm GIN index serves `LIKE '%term%'` (the extension is created in `public`
when missing; without the right to create it, search still works by scanning). On SQLite an
FTS5 trigram table over it, kept by triggers, serves `MATCH`. `secret_counts` holds the number
of secrets per (group, type), in shards that are summed, so the unfiltered listing's total needs no count of every secret.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:45:00
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")
BATCH = 5_000

FTS = [
    "CREATE VIRTUAL TABLE secret_search_fts USING fts5(search_text, content='secret_search', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER secret_search_ai AFTER INSERT ON secret_search BEGIN "
    "INSERT INTO secret_search_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER secret_search_ad AFTER DELETE ON secret_search BEGIN "
    "INSERT INTO secret_search_fts(secret_search_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER secret_search_au AFTER UPDATE ON secret_search BEGIN "
    "INSERT INTO secret_search_fts(secret_search_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO secret_search_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]


def _search_text(secret_id, name, description, secret_type, labels):  # type: ignore[no-untyped-def]
    # As lifecycle.store.search.search_text at this revision (a migration keeps its own copy).
    return "\n".join([secret_id, name, description or "", secret_type, *(labels or [])]).lower()


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table('secret_search',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('secret_id', sa.String(length=36), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['secret_id'], ['secrets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_id')
    )
    op.create_table('secret_counts',
    sa.Column('secret_group_id', sa.String(length=36), nullable=False),
    sa.Column('secret_type', sa.String(length=32), nullable=False),
    sa.Column('shard', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('secret_group_id', 'secret_type', 'shard', name='pk_secret_counts')
    )
    if bind.dialect.name == "sqlite":
        try:
            for statement in FTS:
                bind.exec_driver_sql(statement)
        except sa.exc.OperationalError as exc:
            raise RuntimeError("this Python's SQLite lacks FTS5 with the trigram tokenizer (SQLite >= 3.34 built "
                               f"with FTS5), which certkeeper's search needs: {exc.orig}") from None
    _backfill(bind)
    if bind.dialect.name == "postgresql":
        _trigram_index(bind)


def _backfill(bind: sa.engine.Connection) -> None:
    secrets = sa.table("secrets", sa.column("id"), sa.column("name"), sa.column("description"),
                       sa.column("secret_type"), sa.column("labels", sa.JSON()))
    search = sa.table("secret_search", sa.column("secret_id"), sa.column("search_text"))
    last = ""
    while True:
        rows = bind.execute(sa.select(secrets).where(secrets.c.id > last).order_by(secrets.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(sa.insert(search), [{"secret_id": r.id, "search_text": _search_text(*r)} for r in rows])
        last = rows[-1].id
    bind.exec_driver_sql("INSERT INTO secret_counts (secret_group_id, secret_type, shard, n) "
                         "SELECT secret_group_id, secret_type, 0, count(*) FROM secrets GROUP BY secret_group_id, secret_type")


def _trigram_schema(bind: sa.engine.Connection) -> str | None:
    return bind.exec_driver_sql("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                                "WHERE e.extname = 'pg_trgm'").scalar()


def _trigram_index(bind: sa.engine.Connection) -> None:
    schema = _trigram_schema(bind)
    if schema is None:
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        except sa.exc.DBAPIError as exc:  # no right to create it, or another migration made it just now
            logger.warning("pg_trgm could not be created (%s): search scans secret_search instead of an index",
                           type(exc.orig).__name__)
        schema = _trigram_schema(bind)
    if schema is not None:
        bind.exec_driver_sql(f'CREATE INDEX ix_secret_search_trgm ON secret_search USING gin '
                             f'(search_text "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("secret_search_ai", "secret_search_ad", "secret_search_au"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS secret_search_fts")
    op.drop_table('secret_counts')
    op.drop_table('secret_search')
