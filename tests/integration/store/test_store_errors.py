"""A database failure tells the operator its cause (SQLite's result code and what it means,
PostgreSQL's SQLSTATE), never a stored value: a full disk reads as a full disk."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text
from starlette.testclient import TestClient

from api.app import create_app
from fixtures.clock import FakeClock
from fixtures.databases import postgres_schema
from lifecycle import tokens
from lifecycle.core import SYSTEM, Core
from lifecycle.crypto import Keyring
from lifecycle.errors import StoreUnavailable
from lifecycle.store import SqlStore
from lifecycle.vocabulary import Role


def test_a_full_sqlite_database_says_so_and_names_no_value(sqlite_store: SqlStore, keyring: Keyring,
                                                           clock: FakeClock) -> None:
    core = Core(store=sqlite_store, keyring=keyring, clock=clock)
    token = tokens.issue(core, SYSTEM, Role.MANAGER).token
    with sqlite_store.reader() as tx:
        pages = tx._c.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(sqlite_store.engine, "connect")
    def limit(dbapi_conn: Any, _record: Any) -> None:  # the size limit stands in for a full disk
        dbapi_conn.execute(f"PRAGMA max_page_count={pages + 8}")

    sqlite_store.engine.dispose()
    marker = "do-not-echo-" + "x" * 200_000
    with TestClient(create_app(core)) as client:
        r = client.post("/api/v2/secrets", headers={"Authorization": f"Bearer {token}"},
                        json={"secret_type": "arbitrary", "name": "big", "payload": marker})
    assert r.status_code == 503, r.text
    message = r.json()["errors"][0]["message"]
    assert "SQLITE_FULL: the disk (or the database's size limit) is full" in message and "do-not-echo" not in r.text


@pytest.mark.usefixtures("require_postgres")
def test_a_postgresql_connection_killed_under_a_transaction_names_its_sqlstate() -> None:
    with postgres_schema() as (url, _schema):
        store = SqlStore.from_url(url)
        try:
            with pytest.raises(StoreUnavailable, match=r"database error: AdminShutdown \(SQLSTATE 57P01\)"):
                with store.transaction() as tx:
                    tx._c.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        finally:
            store.dispose()
