"""Engine creation per backend: SQLite pragmas and write-transaction locking.

Engines hide bound parameters from error messages: they hold sealed payloads,
names and metadata, and no database error may carry them into a log.

SQLite: WAL journal with ``synchronous=NORMAL``. A commit is durable against a
process crash; a power loss can lose the last transactions but never corrupts
the file or splits one (WAL keeps each commit atomic). Write transactions start
with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade.

PostgreSQL: libpq waits forever by default, for a new connection and for an answer on one
whose peer vanished (a partition during a failover): requests would hang instead of failing
with 503. Unless the URL sets them, connections time out after `connect_timeout` seconds,
and TCP keepalives and `tcp_user_timeout` end a connection whose server no longer answers
at the network level (a server that is up but stalled keeps answering TCP: only its own
recovery or a restart ends that wait).
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 10_000  # writers from other processes (CLI, workers) wait this long
# libpq parameters a URL may set itself; otherwise: a connection attempt gives up after 10 s,
# an idle connection is probed after 30 s (every 10 s, 3 times), unacknowledged data is given
# up on after 30 s.
POSTGRES_CONNECT_DEFAULTS: dict[str, int] = {
    "connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
    "keepalives_count": 3, "tcp_user_timeout": 30_000,
}


def postgres_connect_args(url: str) -> dict[str, int]:
    """The defaults the URL's query does not set; none for a URL naming a libpq service (its
    file says), nor a connect timeout when PGCONNECT_TIMEOUT does."""
    given = make_url(url).query
    if "service" in given:
        return {}
    taken = set(given) | ({"connect_timeout"} if os.environ.get("PGCONNECT_TIMEOUT") else set())
    return {k: v for k, v in POSTGRES_CONNECT_DEFAULTS.items() if k not in taken}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, hide_parameters=True,
                             connect_args=postgres_connect_args(url))
    raise ValueError(f"database URL: unsupported backend in '{_redact(url)}' (use sqlite:/// or postgresql+psycopg://)")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the driver, decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:  # None: SqlStore.reader(unwrapped=True), each statement on its own
            conn.exec_driver_sql(f"BEGIN {mode}")


def _redact(url: str) -> str:
    """Drop a password from a database URL before it reaches a message."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
