"""The tables of the store (SQLAlchemy Core). Alembic migrations create them; this
module is what queries are written against."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None) if _is_sqlite(dialect) else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_sqlite(dialect: object) -> bool:
    return getattr(dialect, "name", "") == "sqlite"


ID = String(36)


def _only(condition: str) -> dict[str, Any]:
    """A partial index's condition, on both backends. A query uses the index only where it
    writes the same condition with literals, not bound parameters."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


secret_groups = Table(
    "secret_groups",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

secrets = Table(
    "secrets",
    metadata,
    Column("id", ID, primary_key=True),
    Column("secret_group_id", ID, ForeignKey("secret_groups.id"), nullable=False),
    Column("secret_type", String(32), nullable=False),
    Column("name", String(256), nullable=False),
    Column("description", Text, nullable=True),
    Column("labels", JSON, nullable=False),
    Column("custom_metadata", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),  # type-specific metadata, never secret
    Column("state", Integer, nullable=False),
    Column("expiration_date", UTCDateTime, nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("retrieved_at", UTCDateTime, nullable=True),
    Column("downloaded", Boolean, nullable=False),
    Column("versions_total", Integer, nullable=False),
    Column("locks_total", Integer, nullable=False),
    Column("next_rotation_date", UTCDateTime, nullable=True),
    Column("next_expiry_notice", UTCDateTime, nullable=True),  # when the next about-to-expire event is due
    Column("client_request_token", String(64), nullable=True, unique=True),
    Column("request_fingerprint", String(96), nullable=True),
    UniqueConstraint("secret_group_id", "secret_type", "name", name="uq_secrets_group_type_name"),
    Index("ix_secrets_created_at", "created_at"),
    Index("ix_secrets_name", "name"),
    # Dates with the id that breaks their ties, in the order they are read: a list sorted by
    # expiry, and the scheduler's three due dates, whose pass takes the first due secrets by
    # (date, id) and stops, however many fell due at one moment.
    Index("ix_secrets_expiration_date", "expiration_date", "id"),
    # Active secrets by expiry: finding the expired ones to deactivate skips those already done.
    Index("ix_secrets_active_expiration", "expiration_date", "id", **_only("state = 1")),
    Index("ix_secrets_next_rotation_date", "next_rotation_date", "id"),
    Index("ix_secrets_next_expiry_notice", "next_expiry_notice", "id"),
)

# What `search` matches, one row per secret: id, name, description, type and labels, lowercased.
# A table of its own (not a column of secrets) so the text index over it survives table rebuilds
# of secrets: PostgreSQL indexes search_text with a pg_trgm GIN index, SQLite with an FTS5 trigram
# table (secret_search_fts, kept by triggers on this table); both made by migration 0005.
secret_search = Table(
    "secret_search",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # SQLite: the rowid the FTS table keys on
    Column("secret_id", ID, ForeignKey("secrets.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("search_text", Text, nullable=False),
)

# Secrets per group and type, kept with every insert and delete, so the unfiltered listing's
# total_count is a sum over a handful of rows instead of a count of every secret. Spread over
# COUNT_SHARDS rows each (chosen by the secret id), so concurrent creates on PostgreSQL rarely
# wait for one another's row lock; a shard may go negative, the sum is what counts.
COUNT_SHARDS = 8
secret_counts = Table(
    "secret_counts",
    metadata,
    Column("secret_group_id", ID, nullable=False),
    Column("secret_type", String(32), nullable=False),
    Column("shard", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("secret_group_id", "secret_type", "shard", name="pk_secret_counts"),
)

# Labels again, one row each, so match_all_labels and search use an index.
secret_labels = Table(
    "secret_labels",
    metadata,
    Column("secret_id", ID, ForeignKey("secrets.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(64), nullable=False),
    PrimaryKeyConstraint("secret_id", "label", name="pk_secret_labels"),
    Index("ix_secret_labels_label", "label"),
)

secret_versions = Table(
    "secret_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("secret_id", ID, ForeignKey("secrets.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("payload", LargeBinary, nullable=True),  # AES-GCM ciphertext; NULL once erased
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("key_id", String(16), nullable=True),
    Column("custom_metadata", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("downloaded", Boolean, nullable=False),
    Column("auto_rotated", Boolean, nullable=False),
    Column("client_request_token", String(64), nullable=True),
    Column("request_fingerprint", String(96), nullable=True),
    UniqueConstraint("secret_id", "seq", name="uq_versions_secret_seq"),
    UniqueConstraint("secret_id", "client_request_token", name="uq_versions_secret_token"),
    Index("ix_versions_key_id", "key_id"),
)

version_stages = Table(
    "version_stages",
    metadata,
    Column("secret_id", ID, ForeignKey("secrets.id", ondelete="CASCADE"), nullable=False),
    Column("stage", String(64), nullable=False),
    Column("version_id", ID, ForeignKey("secret_versions.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("secret_id", "stage", name="pk_version_stages"),
    Index("ix_version_stages_version", "version_id"),
)

locks = Table(
    "locks",
    metadata,
    Column("secret_id", ID, ForeignKey("secrets.id", ondelete="CASCADE"), nullable=False),
    Column("version_id", ID, ForeignKey("secret_versions.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("description", Text, nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("version_id", "name", name="pk_locks"),
    Index("ix_locks_secret", "secret_id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("token_id", String(64), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target", String(160), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("request_id", String(64), nullable=True),
    Index("ix_audit_events_at", "at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("groups", JSON, nullable=True),
    Column("description", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# Engine configurations: private CAs and certificate templates (later: ACME CAs, DNS
# providers). Public fields live in `attributes`; a CA's private key is sealed like a
# payload, bound to "configurations/<name>".
configurations = Table(
    "configurations",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("config_type", String(64), nullable=False),
    Column("status", String(40), nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("certificate", Text, nullable=True),  # PEM, public
    Column("chain", Text, nullable=True),  # PEM of the issuers above it, nearest first
    Column("csr", Text, nullable=True),
    Column("key_payload", LargeBinary, nullable=True),
    Column("key_wrapped", LargeBinary, nullable=True),
    Column("key_id", String(16), nullable=True),
    Column("crl_der", LargeBinary, nullable=True),
    Column("crl_number", Integer, nullable=False),
    Column("crl_next_update", UTCDateTime, nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_configurations_type", "config_type"),
    Index("ix_configurations_key_id", "key_id"),
)

# The keys a CA signed with before `rotate_intermediate` gave it a new one, numbered by
# generation (the configuration's own key is the current generation). Each is kept, sealed
# and bound to "configurations/<name>/keys/<generation>", with its last certificate while
# that certificate can still be valid: it signs the CRL of what it issued.
ca_keys = Table(
    "ca_keys",
    metadata,
    Column("ca_name", String(128), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("certificate", Text, nullable=False),  # PEM, public
    Column("not_after", UTCDateTime, nullable=False),  # the certificate's
    Column("key_payload", LargeBinary, nullable=False),
    Column("key_wrapped", LargeBinary, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("crl_der", LargeBinary, nullable=True),
    Column("crl_number", Integer, nullable=False),
    Column("crl_next_update", UTCDateTime, nullable=True),
    Column("retired_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("ca_name", "generation", name="pk_ca_keys"),
    Index("ix_ca_keys_key_id", "key_id"),
)

revocations = Table(
    "revocations",
    metadata,
    Column("ca_name", String(128), nullable=False),
    Column("serial", String(64), nullable=False),  # lower-case hex, no colons
    Column("revoked_at", UTCDateTime, nullable=False),
    Column("secret_id", ID, nullable=True),
    PrimaryKeyConstraint("ca_name", "serial", name="pk_revocations"),
)

# Background work: ACME orders, scheduled rotations. A worker claims a row by taking
# its lease; `fence` grows at every claim, so a write from a worker whose lease
# expired (and whose task someone else now runs) matches no row and is rejected.
tasks = Table(
    "tasks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("secret_id", ID, nullable=True),
    Column("kind", String(48), nullable=False),
    Column("trigger", String(48), nullable=False),
    Column("status", String(24), nullable=False),  # queued | processing | waiting | succeeded | failed
    Column("params", JSON, nullable=False),  # never secret
    Column("result", JSON, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("run_after", UTCDateTime, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires", UTCDateTime, nullable=True),
    Column("fence", Integer, nullable=False),
    Column("last_error_code", String(96), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Queued tasks per kind in claiming order, and leases by expiry: each holds its status
    # alone, so a claim's walks take the one index that fits each, whatever the statistics
    # say of statuses, and a look for one kind skips a backlog of another.
    Index("ix_tasks_queued", "kind", "run_after", "id", **_only("status = 'queued'")),
    Index("ix_tasks_lease", "lease_expires", **_only("status = 'processing'")),
    Index("ix_tasks_secret", "secret_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("secret_id", ID, nullable=True),
    Column("secret_group_id", ID, nullable=True),
    Column("secret_type", String(32), nullable=True),
    Column("secret_name", String(256), nullable=True),
    Column("detail", JSON, nullable=False),  # never a secret value
    Index("ix_events_at", "at"),
    Index("ix_events_type_at", "event_type", "at"),
    Index("ix_events_secret", "secret_id"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("url", Text, nullable=False),
    Column("event_types", JSON, nullable=False),  # empty: every event
    Column("key_payload", LargeBinary, nullable=False),  # the HMAC signing key, sealed
    Column("key_wrapped", LargeBinary, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("description", Text, nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
