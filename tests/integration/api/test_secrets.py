"""Creating, reading, listing, patching and deleting generic secrets over HTTP."""

from __future__ import annotations

import string
import uuid

import pytest

from lifecycle.vocabulary import Role


def _create(client, admin, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/v2/secrets", headers=admin, json=body)


def test_arbitrary_secret_round_trips_and_counts_the_read(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, admin, secret_type="arbitrary", name="api-key", payload="p@yload",
                      labels=["prod", "eu"], custom_metadata={"owner": "team-a"})
    assert created.status_code == 201
    assert created.json()["payload"] == "p@yload"  # the v2 contract answers a create with the data
    assert created.json()["downloaded"] is False
    got = client.get(f"/api/v2/secrets/{created.json()['id']}", headers=admin).json()
    assert got["payload"] == "p@yload"
    assert got["labels"] == ["prod", "eu"] and got["custom_metadata"] == {"owner": "team-a"}
    assert got["state"] == 1 and got["state_description"] == "active"
    assert got["downloaded"] is True and got["retrieved_at"]


def test_generated_password_follows_policy(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, admin, secret_type="username_password", name="db", username="app",
                      password_generation_policy={"length": 40, "include_symbols": False})
    got = client.get(f"/api/v2/secrets/{created.json()['id']}", headers=admin).json()
    assert got["username"] == "app" and len(got["password"]) == 40
    assert set(got["password"]) <= set(string.ascii_letters + string.digits)
    assert any(c.isdigit() for c in got["password"]) and any(c.isupper() for c in got["password"])
    assert got["password_generation_policy"]["length"] == 40
    assert got["rotation"] == {"auto_rotate": False}


@pytest.mark.parametrize(
    ("body", "status", "field_text"),
    [
        ({"secret_type": "arbitrary", "name": "-bad", "payload": "x"}, 400, "name"),
        ({"secret_type": "arbitrary", "name": "a" * 257, "payload": "x"}, 400, "name"),
        ({"secret_type": "arbitrary", "name": "ok1"}, 400, "payload: is required"),
        ({"secret_type": "kv", "name": "ok1", "data": "nope"}, 400, "data"),
        ({"secret_type": "nope", "name": "ok1"}, 400, "secret_type: 'nope' is not supported"),
        ({"name": "ok1", "payload": "x"}, 400, "secret_type: is required"),
        ({"secret_type": "arbitrary", "name": "ok1", "payload": "x", "colour": "red"}, 400, "colour: is not a known field"),
        ({"secret_type": "arbitrary", "name": "ok1", "payload": "x", "labels": ["x"]}, 400, "labels"),
        ({"secret_type": "arbitrary", "name": "ok1", "payload": "x", "labels": [f"l{i:02}" for i in range(31)]}, 400, "at most 30"),
        ({"secret_type": "arbitrary", "name": "ok1", "payload": "x", "custom_metadata": {"k": "v" * 11000}}, 413, "custom_metadata"),
        ({"secret_type": "arbitrary", "name": "ok1", "payload": "x", "expiration_date": "2020-01-01T00:00:00Z"}, 400, "expiration_date: must be in the future"),
        ({"secret_type": "kv", "name": "ok1", "data": {}, "expiration_date": "2099-01-01T00:00:00Z"}, 400, "expiration_date"),
        ({"secret_type": "arbitrary", "name": "ok1", "payload": "x", "secret_group_id": "missing"}, 404, "secret group 'missing'"),
        ({"secret_type": "username_password", "name": "ok1", "username": "app", "password_generation_policy": {"length": 5}}, 400, "length"),
        ({"secret_type": "username_password", "name": "ok1", "username": "u"}, 400, "username: must be 2-64 characters"),
        ({"secret_type": "username_password", "name": "ok1", "username": "u" * 65}, 400, "username: must be 2-64"),
        ({"secret_type": "username_password", "name": "ok1", "username": "app", "password": "12345"}, 400, "password: must be 6-256"),
        ({"secret_type": "username_password", "name": "ok1", "username": "app", "password": "p" * 257}, 400, "password: must be 6-256"),
        ({"secret_type": "username_password", "name": "ok1", "username": "app", "rotation": {"auto_rotate": True, "interval": 1, "unit": "week"}}, 400, "rotation.unit"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_problem(client, admin, body, status, field_text) -> None:  # type: ignore[no-untyped-def]
    resp = _create(client, admin, **body)
    assert resp.status_code == status, resp.text
    error = resp.json()["errors"][0]
    assert field_text in error["message"]
    assert client.get("/api/v2/secrets", headers=admin).json()["total_count"] == 0  # nothing written


def test_payload_size_limits(client, admin) -> None:  # type: ignore[no-untyped-def]
    assert _create(client, admin, secret_type="arbitrary", name="big", payload="x" * (1024 * 1024)).status_code == 201
    too_big = _create(client, admin, secret_type="arbitrary", name="big2", payload="x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413 and "payload" in too_big.json()["errors"][0]["message"]
    kv = _create(client, admin, secret_type="kv", name="kv-big", data={"k": "x" * (512 * 1024)})
    assert kv.status_code == 413
    huge = client.post("/api/v2/secrets", headers={**admin, "content-type": "application/json"}, content=b"{" + b" " * (3 * 1024 * 1024) + b"}")
    assert huge.status_code == 413


def test_malformed_json_is_400_and_never_echoes_input(client, admin) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v2/secrets", headers={**admin, "content-type": "application/json"}, content=b'{"payload": "SECRET-ECHO"')
    assert resp.status_code == 400 and "SECRET-ECHO" not in resp.text
    resp = _create(client, admin, secret_type="arbitrary", name="n1", payload=12345)
    assert resp.status_code == 400 and "12345" not in resp.text


def test_duplicate_name_in_group_and_type_is_409(client, admin) -> None:  # type: ignore[no-untyped-def]
    assert _create(client, admin, secret_type="kv", name="dup", data={}).status_code == 201
    resp = _create(client, admin, secret_type="kv", name="dup", data={})
    assert resp.status_code == 409 and "dup" in resp.json()["errors"][0]["message"]
    assert _create(client, admin, secret_type="arbitrary", name="dup", payload="x").status_code == 201


def test_expired_secret_reads_as_deactivated(client, admin, clock) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, admin, secret_type="arbitrary", name="temp", payload="x",
                      expiration_date="2026-01-02T12:00:00Z").json()
    assert created["state"] == 1
    clock.advance(days=2)
    meta = client.get(f"/api/v2/secrets/{created['id']}/metadata", headers=admin).json()
    assert meta["state"] == 3 and meta["state_description"] == "deactivated"


def test_list_filters_sort_and_paging(client, admin) -> None:  # type: ignore[no-untyped-def]
    group = client.post("/api/v2/secret_groups", headers=admin, json={"name": "payments"}).json()
    _create(client, admin, secret_type="kv", name="alpha", data={}, labels=["prod", "eu"])
    _create(client, admin, secret_type="arbitrary", name="bravo", payload="x", labels=["prod"], description="the Charlie key")
    _create(client, admin, secret_type="kv", name="charlie", data={}, labels=["dev"], secret_group_id=group["id"])

    def names(**params):  # type: ignore[no-untyped-def]
        return [s["name"] for s in client.get("/api/v2/secrets", headers=admin, params=params).json()["secrets"]]

    assert names(sort="name") == ["alpha", "bravo", "charlie"]
    assert names(sort="-name") == ["charlie", "bravo", "alpha"]
    assert names(sort="name", secret_types="kv") == ["alpha", "charlie"]
    assert names(sort="name", groups=group["id"]) == ["charlie"]
    assert names(sort="name", groups="default") == ["alpha", "bravo"]
    assert names(sort="name", match_all_labels="prod,eu") == ["alpha"]
    assert names(sort="name", search="charlie") == ["bravo", "charlie"]
    page = client.get("/api/v2/secrets", headers=admin, params={"sort": "name", "limit": 2}).json()
    assert page["total_count"] == 3 and "offset=2" in page["next"]["href"] and "previous" not in page
    assert names(sort="name", limit=2, offset=2) == ["charlie"]
    assert client.get("/api/v2/secrets", headers=admin, params={"limit": 1001}).status_code == 400
    assert client.get("/api/v2/secrets", headers=admin, params={"sort": "password"}).status_code == 400
    assert client.get("/api/v2/secrets", headers=admin, params={"offset": "x"}).status_code == 400


def test_patch_metadata_changes_only_allowed_fields(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, admin, secret_type="kv", name="conf", data={"a": 1}).json()
    url = f"/api/v2/secrets/{created['id']}/metadata"
    resp = client.patch(url, headers={**admin, "content-type": "application/merge-patch+json"},
                        json={"name": "conf2", "labels": ["x1"], "description": "d"})
    assert resp.status_code == 200 and resp.json()["name"] == "conf2" and resp.json()["labels"] == ["x1"]
    bad = client.patch(url, headers=admin, json={"expiration_date": "2099-01-01T00:00:00Z"})
    assert bad.status_code == 400 and "expiration_date" in bad.json()["errors"][0]["message"]


def test_get_by_group_name_type_and_name(client, admin) -> None:  # type: ignore[no-untyped-def]
    _create(client, admin, secret_type="kv", name="lookup", data={"a": 1})
    resp = client.get("/api/v2/secret_groups/default/secret_types/kv/secrets/lookup", headers=admin)
    assert resp.status_code == 200 and resp.json()["data"] == {"a": 1}
    assert client.get("/api/v2/secret_groups/default/secret_types/arbitrary/secrets/lookup", headers=admin).status_code == 404


def test_groups_crud_and_delete_refused_while_holding_secrets(client, admin) -> None:  # type: ignore[no-untyped-def]
    group = client.post("/api/v2/secret_groups", headers=admin, json={"name": "ops", "description": "Ops"}).json()
    _create(client, admin, secret_type="kv", name="in-ops", data={}, secret_group_id=group["id"])
    refused = client.delete(f"/api/v2/secret_groups/{group['id']}", headers=admin)
    assert refused.status_code == 409 and "holds 1 secret" in refused.json()["errors"][0]["message"]
    assert client.post("/api/v2/secret_groups", headers=admin, json={"name": "ops"}).status_code == 409
    assert client.patch(f"/api/v2/secret_groups/{group['id']}", headers=admin, json={"name": "ops2"}).json()["name"] == "ops2"
    assert client.delete("/api/v2/secret_groups/default", headers=admin).status_code == 409


def test_unknown_route_and_method_are_json_errors(client, admin) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v2/nothing", headers=admin)
    assert resp.status_code == 404 and resp.json()["errors"][0]["code"] == "not_found"
    assert client.put("/api/v2/secrets", headers=admin).status_code == 405


def test_health_and_openapi(client, token_for) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/api/v2/openapi.json").status_code == 401
    doc = client.get("/api/v2/openapi.json", headers=token_for(Role.READER)).json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v2/secrets/{id}" in doc["paths"]
    assert doc["paths"]["/api/v2/secrets"]["post"]["x-certkeeper-role"] == "Writer"
    patch = doc["paths"]["/api/v2/configurations/{name}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    kinds = {ref["$ref"].rsplit("/", 1)[1] for ref in doc["components"]["schemas"][patch["$ref"].rsplit("/", 1)[1]]["anyOf"]}
    assert {"LetsEncryptPatch", "CisPatch", "CAPatch"} <= kinds
    assert "lets_encrypt_private_key" in doc["components"]["schemas"]["LetsEncryptPatch"]["properties"]


def test_destroyed_secret_takes_no_new_version(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, admin, secret_type="arbitrary", name="gone", payload="x").json()
    assert client.delete(f"/api/v2/secrets/{created['id']}/versions/current/secret_data", headers=admin).status_code == 204
    assert client.get(f"/api/v2/secrets/{created['id']}/metadata", headers=admin).json()["state"] == 5
    resp = client.post(f"/api/v2/secrets/{created['id']}/versions", headers=admin, json={"payload": "y"})
    assert resp.status_code == 409 and "destroyed" in resp.json()["errors"][0]["message"]


def test_username_password_rotation_keeps_the_username(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, admin, secret_type="username_password", name="svc", username="svc-user").json()
    assert "username" not in client.get(f"/api/v2/secrets/{created['id']}/metadata", headers=admin).json()
    version = client.post(f"/api/v2/secrets/{created['id']}/versions", headers=admin, json={}).json()
    assert version["username"] == "svc-user" and version["password"] != created["password"]


def test_next_rotation_date_follows_the_policy_and_every_rotation(client, admin, clock) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, admin, secret_type="username_password", name="rotating", username="app",
                      rotation={"auto_rotate": True, "interval": 30, "unit": "day"}).json()
    assert created["next_rotation_date"] == "2026-01-31T12:00:00.000Z"
    clock.advance(days=10)
    client.post(f"/api/v2/secrets/{created['id']}/versions", headers=admin, json={})  # a manual rotation counts
    meta = client.get(f"/api/v2/secrets/{created['id']}/metadata", headers=admin).json()
    assert meta["next_rotation_date"] == "2026-02-10T12:00:00.000Z"
    patched = client.patch(f"/api/v2/secrets/{created['id']}/metadata", headers=admin,
                           json={"rotation": {"auto_rotate": True, "schedule": "cron(0 3 * * ? *)"}}).json()
    assert patched["next_rotation_date"] == "2026-01-12T03:00:00.000Z"
    bad = client.patch(f"/api/v2/secrets/{created['id']}/metadata", headers=admin,
                       json={"rotation": {"auto_rotate": True, "schedule": "cron(0 */1 * * ? *)"}})
    assert bad.status_code == 400 and "minimum interval" in bad.json()["errors"][0]["message"]
    off = client.patch(f"/api/v2/secrets/{created['id']}/metadata", headers=admin, json={"rotation": {"auto_rotate": False}}).json()
    assert "next_rotation_date" not in off


def test_ids_follow_creation_order_so_new_rows_append_to_their_indexes(client, admin, clock) -> None:  # type: ignore[no-untyped-def]
    made = []  # secret and version ids, in the order they were made
    for i in range(5):
        clock.advance(milliseconds=3)
        secret_id = _create(client, admin, secret_type="arbitrary", name=f"ordered-{i}", payload="x").json()["id"]
        clock.advance(milliseconds=3)
        version = client.post(f"/api/v2/secrets/{secret_id}/versions", headers=admin, json={"payload": "y"})
        made += [secret_id, version.json()["id"]]
    assert made == sorted(made)
    assert all(uuid.UUID(i).version == 7 for i in made)


def test_health_says_unavailable_when_the_sqlite_disk_is_full(client, core, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A full disk fails writes and reads of secret data; a readiness check must see it."""
    import shutil
    from collections import namedtuple

    answer = client.get("/health").json()
    if core.store.backend != "sqlite":
        assert "disk_free_bytes" not in answer  # PostgreSQL's disk is its server's
        return
    assert answer["status"] == "ok" and answer["disk_free_bytes"] > 0
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 30, (1 << 30) - 4096, 4096))
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["status"] == "unavailable" and r.json()["disk_free_bytes"] == 4096
    assert "4096 bytes free" in r.json()["reason"]
