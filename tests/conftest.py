"""Shared fixtures: a store on SQLite or PostgreSQL, a Core with a fake clock,
an app client, and tokens for every role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from fixtures.clock import FakeClock
from fixtures.databases import postgres_schema, postgres_unavailable_reason, sqlite_url
from lifecycle import tokens
from lifecycle.core import SYSTEM, Core
from lifecycle.crypto import Keyring, new_root_key
from lifecycle.store import SqlStore
from lifecycle.store.migrate import upgrade
from lifecycle.vocabulary import Role

pytest_plugins = ["fixtures.pebble_plugin"]  # Pebble, CIS fixture server, ACME and DNS-01 fixtures
REQUIRE_POSTGRES = os.environ.get("CERTKEEPER_TEST_REQUIRE_POSTGRES") == "1"
# Every server a test talks to is on loopback: a developer's egress proxy must not carry
# those calls (ACME, CIS and webhook clients honour these); the proxy tests set their own.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_var, None)
_pg_reason: list[str | None] = []


def _postgres_or_skip() -> None:
    if not _pg_reason:
        _pg_reason.append(postgres_unavailable_reason())
    reason = _pg_reason[0]
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason}; CI requires the PostgreSQL tests (CERTKEEPER_TEST_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    _postgres_or_skip()
    with postgres_schema() as (url, _schema):
        yield url


@pytest.fixture
def require_postgres() -> None:
    """For tests that make their own PostgreSQL schema: skip (or fail in CI) without a server."""
    _postgres_or_skip()


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)


@contextmanager
def _migrated(url: str) -> Iterator[SqlStore]:
    s = SqlStore.from_url(url)
    upgrade(s.engine)
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    with _migrated(database_url) as s:
        yield s


@pytest.fixture
def sqlite_store(sqlite_database_url: str) -> Iterator[SqlStore]:
    """A migrated store on SQLite only, for what SQLite alone does (its writers' gate, FTS5)."""
    with _migrated(sqlite_database_url) as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.single(new_root_key())


@pytest.fixture
def core(store: SqlStore, keyring: Keyring, clock: FakeClock) -> Core:
    return Core(store=store, keyring=keyring, clock=clock)


@pytest.fixture
def client(core: Core) -> Iterator[TestClient]:
    with TestClient(create_app(core), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def token_for(core: Core):  # type: ignore[no-untyped-def]
    """token_for(role, groups=None) -> 'Bearer ...' header value."""

    def make(role: Role = Role.MANAGER, groups: list[str] | None = None) -> dict[str, str]:
        issued = tokens.issue(core, SYSTEM, role, groups=groups)
        return {"Authorization": f"Bearer {issued.token}"}

    return make


@pytest.fixture
def admin(token_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return token_for(Role.MANAGER)
