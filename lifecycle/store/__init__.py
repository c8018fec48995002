"""Persistence: the narrow, entity-shaped store the core talks to, on SQLAlchemy Core.

SQLite (the embedded default) and PostgreSQL run the same code and the same tests.
"""

from lifecycle.store.sql import SecretQuery, SqlStore, Tx

__all__ = ["SecretQuery", "SqlStore", "Tx"]
