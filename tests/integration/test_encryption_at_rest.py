"""Payloads never reach the database in plaintext, and ciphertexts are bound to their rows."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, update

from fixtures.databases import postgres_schema
from lifecycle import secrets, version_ops
from lifecycle.core import SYSTEM, Core
from lifecycle.errors import IntegrityFailure
from lifecycle.secrets import SecretDraft
from lifecycle.store import SqlStore
from lifecycle.store import schema as t
from lifecycle.store.migrate import upgrade

MARKERS = {
    "arbitrary": "ARBITRARY-MARKER-7f3a9c",
    "kv": "KV-MARKER-19bd44",
    "password": "PASSWORD-MARKER-c0ffee",
    "username": "USERNAME-MARKER-d00d",
}


def _write_known_payloads(core: Core) -> None:
    secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "a1", fields={"payload": MARKERS["arbitrary"]}))
    secrets.create_secret(core, SYSTEM, SecretDraft("kv", "k1", fields={"data": {"key": MARKERS["kv"]}}))
    view = secrets.create_secret(
        core, SYSTEM,
        SecretDraft("username_password", "u1", fields={"username": MARKERS["username"], "password": MARKERS["password"]},
                    client_request_token="tok-1"),
    )
    version_ops.create_version(core, SYSTEM, view.secret.id, {"password": MARKERS["password"] + "-v2"},
                               client_request_token="tok-2")


def test_payloads_appear_nowhere_in_sqlite_file_or_wal(tmp_path: Path, core_factory) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "certkeeper.db"
    core = core_factory(f"sqlite:///{db}")
    _write_known_payloads(core)
    files = [p for p in tmp_path.iterdir() if p.name.startswith("certkeeper.db")]
    assert any(p.name.endswith("-wal") for p in files), "expected a WAL file while the engine is open"
    for path in files:
        content = path.read_bytes()
        for marker in MARKERS.values():
            assert marker.encode() not in content, f"{marker} found in plaintext in {path.name}"
    core.store.dispose()
    for marker in MARKERS.values():
        assert marker.encode() not in db.read_bytes()


@pytest.mark.postgres
def test_payloads_appear_nowhere_in_a_postgres_dump(core_factory, require_postgres) -> None:  # type: ignore[no-untyped-def]
    with postgres_schema() as (url, schema):
        core = core_factory(url)
        _write_known_payloads(core)
        dump = subprocess.run(
            ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-n", schema],
            check=True, capture_output=True, timeout=60,
        ).stdout
        core.store.dispose()
    assert b"secret_versions" in dump  # the dump holds the table...
    for marker in MARKERS.values():
        assert marker.encode() not in dump  # ...but none of the values


def test_ciphertext_moved_to_another_row_fails_with_clear_error(core: Core) -> None:
    a = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "first", fields={"payload": "alpha"}))
    b = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "second", fields={"payload": "bravo"}))
    assert a.current is not None and b.current is not None
    with core.store.engine.begin() as conn:
        row = conn.execute(
            select(t.secret_versions.c.payload, t.secret_versions.c.wrapped_key, t.secret_versions.c.key_id)
            .where(t.secret_versions.c.id == a.current.id)
        ).one()
        conn.execute(
            update(t.secret_versions).where(t.secret_versions.c.id == b.current.id)
            .values(payload=row.payload, wrapped_key=row.wrapped_key, key_id=row.key_id)
        )
    with pytest.raises(IntegrityFailure) as exc:
        secrets.get_secret(core, SYSTEM, b.secret.id, with_payload=True)
    assert b.current.id in exc.value.message
    assert "alpha" not in exc.value.message


def test_moved_ciphertext_is_a_500_with_integrity_code_over_http(core: Core, client, admin) -> None:  # type: ignore[no-untyped-def]
    a = client.post("/api/v2/secrets", headers=admin, json={"secret_type": "arbitrary", "name": "one", "payload": "alpha"}).json()
    b = client.post("/api/v2/secrets", headers=admin, json={"secret_type": "arbitrary", "name": "two", "payload": "bravo"}).json()
    with core.store.engine.begin() as conn:
        v = t.secret_versions.c
        src = conn.execute(select(v.payload, v.wrapped_key, v.key_id).where(v.secret_id == a["id"])).one()
        conn.execute(update(t.secret_versions).where(v.secret_id == b["id"])
                     .values(payload=src.payload, wrapped_key=src.wrapped_key, key_id=src.key_id))
    resp = client.get(f"/api/v2/secrets/{b['id']}", headers=admin)
    assert resp.status_code == 500
    assert resp.json()["errors"][0]["code"] == "integrity_failure"
    assert "alpha" not in resp.text and "bravo" not in resp.text


@pytest.fixture
def core_factory(keyring, clock):  # type: ignore[no-untyped-def]
    def make(url: str) -> Core:
        store = SqlStore.from_url(url)
        upgrade(store.engine)
        return Core(store=store, keyring=keyring, clock=clock)

    return make
