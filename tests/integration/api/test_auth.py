"""Tokens, roles, group scoping and audit events over HTTP."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from api.routes.table import ROUTES
from lifecycle.store import schema as t
from lifecycle.vocabulary import Role

PAYLOAD_FIELDS = {"payload", "data", "password", "username"}


def _concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", "x1", path)


def test_every_route_except_public_ones_needs_a_token(client) -> None:  # type: ignore[no-untyped-def]
    for ep in ROUTES:
        resp = client.request(ep.method, _concrete(ep.path), json={})
        if ep.role is None:
            assert resp.status_code in (200, 404), ep.path  # CA downloads of an unknown CA are 404
        else:
            assert resp.status_code == 401, f"{ep.method} {ep.path} answered {resp.status_code} without a token"
            assert resp.headers["www-authenticate"] == "Bearer"


def test_public_routes_are_only_health_openapi_and_ca_downloads() -> None:
    public = {ep.path for ep in ROUTES if ep.role is None}
    downloads = {p for p in public if p.startswith("/api/v2/pki/{name}/")}
    assert public - downloads == {"/health"}
    assert all(ep.method == "GET" for ep in ROUTES if ep.role is None)


@pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer ck_aaaaaaaaaaaaaaaa_" + "A" * 43, ""])
def test_bad_tokens_are_401(client, header) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v2/secrets", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["code"] == "unauthorized"


def test_expired_token_is_refused(core, client, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from lifecycle import tokens
    from lifecycle.core import SYSTEM

    issued = tokens.issue(core, SYSTEM, Role.READER, ttl=timedelta(hours=1))
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/api/v2/secrets", headers=headers).status_code == 200
    clock.advance(hours=2)
    resp = client.get("/api/v2/secrets", headers=headers)
    assert resp.status_code == 401 and "expired" in resp.json()["errors"][0]["message"]


def _make_secret(client, admin, name="s1", group="default"):  # type: ignore[no-untyped-def]
    resp = client.post("/api/v2/secrets", headers=admin, json={
        "secret_type": "kv", "name": name, "data": {"k": "v"}, "secret_group_id": group})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_reader_sees_metadata_but_never_a_payload(client, admin, token_for) -> None:  # type: ignore[no-untyped-def]
    secret = _make_secret(client, admin)
    reader = token_for(Role.READER)
    assert client.get(f"/api/v2/secrets/{secret['id']}", headers=reader).status_code == 403
    assert client.get(f"/api/v2/secrets/{secret['id']}/versions/current", headers=reader).status_code == 403
    for path in (f"/api/v2/secrets/{secret['id']}/metadata", "/api/v2/secrets",
                 f"/api/v2/secrets/{secret['id']}/versions", f"/api/v2/secrets/{secret['id']}/versions/current/metadata"):
        resp = client.get(path, headers=reader)
        assert resp.status_code == 200, path
        assert not _payload_keys(resp.json()), f"{path} leaked payload fields to a Reader"


def _payload_keys(value) -> set[str]:  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        found = PAYLOAD_FIELDS & set(value)
        for v in value.values():
            found |= _payload_keys(v)
        return found
    if isinstance(value, list):
        return set().union(*(_payload_keys(v) for v in value)) if value else set()
    return set()


def test_role_ladder(client, admin, token_for) -> None:  # type: ignore[no-untyped-def]
    secret = _make_secret(client, admin)
    sr, writer = token_for(Role.SECRETS_READER), token_for(Role.WRITER)
    assert client.get(f"/api/v2/secrets/{secret['id']}", headers=sr).json()["data"] == {"k": "v"}
    assert client.post("/api/v2/secrets", headers=sr, json={"secret_type": "kv", "name": "x2", "data": {}}).status_code == 403
    assert client.post(f"/api/v2/secrets/{secret['id']}/versions", headers=writer, json={"data": {"k": "2"}}).status_code == 201
    denied = client.delete(f"/api/v2/secrets/{secret['id']}", headers=writer)
    assert denied.status_code == 403 and "Manager" in denied.json()["errors"][0]["message"]
    assert client.post("/api/v2/secret_groups", headers=writer, json={"name": "g1"}).status_code == 403
    assert client.delete(f"/api/v2/secrets/{secret['id']}", headers=admin).status_code == 204


def test_group_scoped_token_sees_only_its_groups(client, admin, token_for) -> None:  # type: ignore[no-untyped-def]
    group = client.post("/api/v2/secret_groups", headers=admin, json={"name": "team-a"}).json()
    inside = _make_secret(client, admin, "inside", group["id"])
    outside = _make_secret(client, admin, "outside")
    scoped = token_for(Role.MANAGER, groups=[group["id"]])
    listed = client.get("/api/v2/secrets", headers=scoped).json()
    assert [s["id"] for s in listed["secrets"]] == [inside["id"]]
    assert client.get(f"/api/v2/secrets/{outside['id']}", headers=scoped).status_code == 404
    assert client.delete(f"/api/v2/secrets/{outside['id']}", headers=scoped).status_code == 404
    resp = client.post("/api/v2/secrets", headers=scoped, json={"secret_type": "kv", "name": "n2", "data": {}})
    assert resp.status_code == 403
    assert [g["id"] for g in client.get("/api/v2/secret_groups", headers=scoped).json()["secret_groups"]] == [group["id"]]
    assert client.get(f"/api/v2/secrets/{inside['id']}", headers=scoped).status_code == 200


def test_audit_records_mutations_reads_and_failures_without_values(core, client, admin, token_for) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/api/v2/secrets", headers=admin, json={
        "secret_type": "arbitrary", "name": "audited", "payload": "AUDIT-VALUE-42"})
    secret_id = created.json()["id"]
    client.get(f"/api/v2/secrets/{secret_id}", headers=admin)
    writer = token_for(Role.WRITER)
    client.delete(f"/api/v2/secrets/{secret_id}", headers=writer)  # denied
    with core.store.engine.connect() as conn:
        rows = conn.execute(select(t.audit_events).order_by(t.audit_events.c.id)).all()
    events = [(r.action, r.outcome) for r in rows if secret_id in r.target]
    assert events == [("secret.create", "success"), ("secret.read_payload", "success"), ("secret.delete", "denied")]
    assert all(r.request_id for r in rows if secret_id in r.target)
    assert not any("AUDIT-VALUE-42" in str(tuple(r)) for r in rows)


def test_tokens_are_stored_only_as_hashes(core, admin) -> None:  # type: ignore[no-untyped-def]
    presented = admin["Authorization"].split()[1]
    secret_part = presented.split("_", 2)[2]
    with core.store.engine.connect() as conn:
        rows = conn.execute(select(t.api_tokens)).all()
    assert rows and all(secret_part not in str(tuple(r)) for r in rows)


def _revoke_in_store(core, token_id: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    with core.store.engine.begin() as conn:
        conn.execute(update(t.api_tokens).where(t.api_tokens.c.id == token_id).values(revoked_at=core.clock()))


def test_a_token_changed_in_the_store_is_seen_within_the_cache_ttl(core, client) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from starlette.testclient import TestClient

    from api.app import create_app
    from lifecycle import tokens
    from lifecycle.core import SYSTEM
    from lifecycle.token_cache import TokenCache

    ticks = [0.0]
    cached = dataclasses.replace(core, token_cache=TokenCache(ttl=5.0, monotonic=lambda: ticks[0]))
    issued = tokens.issue(cached, SYSTEM, Role.READER)
    headers = {"Authorization": f"Bearer {issued.token}"}
    with TestClient(create_app(cached, workers=0)) as other:
        assert other.get("/api/v2/secrets", headers=headers).status_code == 200
        _revoke_in_store(cached, issued.record.id)  # as another server process would
        ticks[0] = 4.0
        assert other.get("/api/v2/secrets", headers=headers).status_code == 200  # still inside the ttl
        ticks[0] = 5.5
        resp = other.get("/api/v2/secrets", headers=headers)
        assert resp.status_code == 401 and "revoked" in resp.json()["errors"][0]["message"]


def test_a_wrong_secret_part_is_refused_even_when_the_token_id_is_cached(client, token_for) -> None:  # type: ignore[no-untyped-def]
    good = token_for(Role.READER)
    assert client.get("/api/v2/secrets", headers=good).status_code == 200  # now cached
    token = good["Authorization"].removeprefix("Bearer ")
    forged = token[:-43] + ("B" if token[-43] != "B" else "C") + token[-42:]
    resp = client.get("/api/v2/secrets", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401 and "not valid" in resp.json()["errors"][0]["message"]


def test_an_unknown_token_is_not_remembered_as_unknown(core, client) -> None:  # type: ignore[no-untyped-def]
    from lifecycle import tokens
    from lifecycle.core import SYSTEM

    minted = tokens.mint(core.clock(), Role.READER)
    headers = {"Authorization": f"Bearer {minted.token}"}
    assert client.get("/api/v2/secrets", headers=headers).status_code == 401
    tokens.store(core, SYSTEM, minted)  # e.g. `certkeeper token create` on another process
    assert client.get("/api/v2/secrets", headers=headers).status_code == 200


def test_the_token_cache_is_bounded() -> None:
    from datetime import UTC, datetime

    from lifecycle import tokens
    from lifecycle.token_cache import TokenCache

    cache = TokenCache(size=3)
    records = [tokens.mint(datetime.now(UTC), Role.READER).record for _ in range(5)]
    for record in records:
        cache.put(record)
    assert [cache.get(r.id) for r in records] == [None, None, *records[2:]]
