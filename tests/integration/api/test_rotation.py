"""Rotate, stage labels and random passwords (certkeeper extensions) over HTTP and under concurrency."""

from __future__ import annotations

import string
from concurrent.futures import ThreadPoolExecutor

from lifecycle.core import SYSTEM, Core
from lifecycle.rotate import rotate


def _secret(client, admin, **extra):  # type: ignore[no-untyped-def]
    body = {"secret_type": "username_password", "name": "db-user", "username": "app", **extra}
    resp = client.post("/api/v2/secrets", headers=admin, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _current(client, admin, secret_id):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v2/secrets/{secret_id}/versions/current", headers=admin).json()


def test_rotate_answers_version_and_task_and_makes_a_new_password(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = _secret(client, admin)
    resp = client.post(f"/api/v2/secrets/{secret['id']}/rotate", headers=admin, json={})
    assert resp.status_code == 201
    result = resp.json()
    current = _current(client, admin, secret["id"])
    assert current["id"] == result["version_id"] and current["password"] != secret["password"]
    task = client.get(f"/api/v2/secrets/{secret['id']}/tasks/{result['task_id']}", headers=admin).json()
    assert task["status"] == "succeeded" and task["secret_version_id"] == result["version_id"]
    assert task["trigger"] == "manual_secret_rotation"


def test_rotate_is_idempotent_by_token(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = _secret(client, admin)
    url = f"/api/v2/secrets/{secret['id']}/rotate"
    first = client.post(url, headers=admin, json={"client_request_token": "rot-1"}).json()
    again = client.post(url, headers=admin, json={"client_request_token": "rot-1"}).json()
    assert first == again
    assert client.get(f"/api/v2/secrets/{secret['id']}/metadata", headers=admin).json()["versions_total"] == 2


def test_fifty_concurrent_rotations_with_one_token_make_one_version(core: Core, client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = _secret(client, admin)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: rotate(core, SYSTEM, secret["id"], client_request_token="one-token"), range(50)))
    assert len({r.version_id for r in results}) == 1 and len({r.task_id for r in results}) == 1
    assert client.get(f"/api/v2/secrets/{secret['id']}/metadata", headers=admin).json()["versions_total"] == 2


def test_rotating_a_type_without_generated_data_is_400(client, admin) -> None:  # type: ignore[no-untyped-def]
    kv = client.post("/api/v2/secrets", headers=admin, json={"secret_type": "kv", "name": "cfg", "data": {}}).json()
    resp = client.post(f"/api/v2/secrets/{kv['id']}/rotate", headers=admin, json={})
    assert resp.status_code == 400 and "create a version with new data" in resp.json()["errors"][0]["message"]


def test_pending_version_does_not_move_current_until_promoted(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = _secret(client, admin)
    first = _current(client, admin, secret["id"])
    pending = client.post(f"/api/v2/secrets/{secret['id']}/versions", headers=admin,
                          json={"password": "next-password", "version_stages": ["pending"]}).json()
    assert "alias" not in pending and pending["version_stages"] == ["pending"]
    assert _current(client, admin, secret["id"])["id"] == first["id"]  # apps keep the working version
    stages = client.get(f"/api/v2/secrets/{secret['id']}/stages", headers=admin).json()["stages"]
    assert {s["stage"]: s["version_id"] for s in stages} == {"current": first["id"], "pending": pending["id"]}
    moved = client.put(f"/api/v2/secrets/{secret['id']}/stages/current", headers=admin, json={"version_id": pending["id"]})
    assert moved.status_code == 200
    labels = {s["stage"]: s["version_id"] for s in moved.json()["stages"]}
    assert labels == {"current": pending["id"], "previous": first["id"]}
    assert _current(client, admin, secret["id"])["password"] == "next-password"


def test_custom_label_keeps_an_old_version_readable(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = _secret(client, admin)
    v1 = _current(client, admin, secret["id"])
    client.put(f"/api/v2/secrets/{secret['id']}/stages/blue", headers=admin, json={"version_id": v1["id"]})
    for _ in range(3):
        client.post(f"/api/v2/secrets/{secret['id']}/rotate", headers=admin, json={})
    old = client.get(f"/api/v2/secrets/{secret['id']}/versions/{v1['id']}", headers=admin)
    assert old.status_code == 200 and old.json()["password"] == v1["password"]
    client.delete(f"/api/v2/secrets/{secret['id']}/stages/blue", headers=admin)
    gone = client.get(f"/api/v2/secrets/{secret['id']}/versions/{v1['id']}/metadata", headers=admin).json()
    assert gone["payload_available"] is False


def test_current_cannot_be_removed_and_previous_cannot_be_set_by_hand(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = _secret(client, admin)
    assert client.delete(f"/api/v2/secrets/{secret['id']}/stages/current", headers=admin).status_code == 400
    v = _current(client, admin, secret["id"])
    resp = client.put(f"/api/v2/secrets/{secret['id']}/stages/previous", headers=admin, json={"version_id": v["id"]})
    assert resp.status_code == 400 and "previous" in resp.json()["errors"][0]["message"]


def test_at_most_twenty_labels(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = _secret(client, admin)
    v = _current(client, admin, secret["id"])
    for i in range(19):
        assert client.put(f"/api/v2/secrets/{secret['id']}/stages/l{i:02}", headers=admin, json={"version_id": v["id"]}).status_code == 200
    resp = client.put(f"/api/v2/secrets/{secret['id']}/stages/one-more", headers=admin, json={"version_id": v["id"]})
    assert resp.status_code == 400 and "at most 20" in resp.json()["errors"][0]["message"]


def test_random_password_follows_the_options(client, admin) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v2/random_password", headers=admin, params={
        "length": 40, "exclude_punctuation": "true", "exclude_characters": "aeiou0", "require_each_included_type": "true"})
    password = resp.json()["random_password"]
    assert len(password) == 40 and set(password) <= set(string.ascii_letters + string.digits)
    assert not set(password) & set("aeiou0")
    assert any(c.isupper() for c in password) and any(c.isdigit() for c in password)
    assert resp.headers["cache-control"] == "no-store"
    assert client.get("/api/v2/random_password", headers=admin, params={"length": 7}).status_code == 400
    assert client.get("/api/v2/random_password", headers=admin, params={
        "exclude_lowercase": "true", "exclude_uppercase": "true", "exclude_numbers": "true",
        "exclude_punctuation": "true"}).status_code == 400


def test_rotate_without_a_body_rotates_with_the_defaults(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = _secret(client, admin)
    resp = client.post(f"/api/v2/secrets/{secret['id']}/rotate", headers=admin)
    assert resp.status_code == 201, resp.text
    assert _current(client, admin, secret["id"])["id"] == resp.json()["version_id"]


def test_rotate_stops_reading_a_body_over_the_limit(client, admin) -> None:  # type: ignore[no-untyped-def]
    """A streamed body too large is refused once the limit is passed, not read whole into
    memory first (the rest is never asked for)."""
    import asyncio

    secret = _secret(client, admin)
    chunk, chunks = b" " * (1 << 20), 64  # 64 MB offered, in 1 MB chunks, with no Content-Length
    asked, sent = [0], []

    async def receive() -> dict:  # type: ignore[type-arg]
        asked[0] += 1
        return {"type": "http.request", "body": chunk, "more_body": asked[0] < chunks}

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        sent.append(message)

    path = f"/api/v2/secrets/{secret['id']}/rotate"
    headers = [(k.lower().encode(), v.encode()) for k, v in admin.items()] + [(b"content-type", b"application/json")]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(client.app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert asked[0] <= 3  # the 2 MB limit, and the chunk that passed it
