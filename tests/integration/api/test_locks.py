"""Locks over HTTP: what a lock blocks (412, nothing written), what it does not,
the lock modes, removing locks by name, counts and the instance-wide listing, and
the input rules.

Every test runs on SQLite and PostgreSQL (the `database_url` fixture is parametrized).
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

V2 = "/api/v2"
Headers = dict[str, str]


# -- helpers ----------------------------------------------------------------


def create_secret(client: TestClient, admin: Headers, name: str = "app-secret", payload: str = "v1") -> str:
    r = client.post(
        f"{V2}/secrets", json={"secret_type": "arbitrary", "name": name, "payload": payload}, headers=admin
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def new_version(client: TestClient, admin: Headers, secret_id: str, payload: str) -> str:
    r = client.post(f"{V2}/secrets/{secret_id}/versions", json={"payload": payload}, headers=admin)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def lock_current(
    client: TestClient,
    admin: Headers,
    secret_id: str,
    *names: str,
    mode: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    locks = [{"name": n, **({"description": description} if description else {})} for n in names]
    params = {"mode": mode} if mode else None
    r = client.post(f"{V2}/secrets/{secret_id}/locks_bulk", json={"locks": locks}, params=params, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def lock_version(client: TestClient, admin: Headers, secret_id: str, ref: str, *names: str) -> dict[str, Any]:
    r = client.post(
        f"{V2}/secrets/{secret_id}/versions/{ref}/locks_bulk",
        json={"locks": [{"name": n} for n in names]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return r.json()


def version_id(client: TestClient, admin: Headers, secret_id: str, ref: str) -> str:
    r = client.get(f"{V2}/secrets/{secret_id}/versions/{ref}/metadata", headers=admin)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def payload_available(client: TestClient, admin: Headers, secret_id: str, ref: str) -> bool:
    r = client.get(f"{V2}/secrets/{secret_id}/versions/{ref}/metadata", headers=admin)
    assert r.status_code == 200, r.text
    return bool(r.json()["payload_available"])


def metadata(client: TestClient, admin: Headers, secret_id: str) -> dict[str, Any]:
    r = client.get(f"{V2}/secrets/{secret_id}/metadata", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


def locks_by_version(client: TestClient, admin: Headers, secret_id: str) -> dict[str, list[str]]:
    """{version id: sorted lock names} from GET /secrets/{id}/locks."""
    r = client.get(f"{V2}/secrets/{secret_id}/locks", headers=admin)
    assert r.status_code == 200, r.text
    out: dict[str, list[str]] = {}
    for lock in r.json()["locks"]:
        out.setdefault(lock["secret_version_id"], []).append(lock["name"])
    return {k: sorted(v) for k, v in out.items()}


def snapshot(client: TestClient, admin: Headers, secret_id: str) -> dict[str, Any]:
    """What a refused request must leave untouched: counts, stages, payloads, metadata, locks."""
    meta = metadata(client, admin, secret_id)
    r = client.get(f"{V2}/secrets/{secret_id}/versions", headers=admin)
    assert r.status_code == 200, r.text
    lock_rows = client.get(f"{V2}/secrets/{secret_id}/locks", headers=admin).json()["locks"]
    return {
        "versions_total": meta["versions_total"],
        "locks_total": meta["locks_total"],
        "state": meta["state"],
        "custom_metadata": meta["custom_metadata"],
        "versions": sorted(
            (v["id"], v.get("alias"), v["payload_available"], repr(v["version_custom_metadata"]))
            for v in r.json()["versions"]
        ),
        "locks": sorted((lk["secret_version_id"], lk["name"], lk["description"]) for lk in lock_rows),
    }


def assert_locked(response: Any) -> None:
    assert response.status_code == 412, response.text
    assert response.json()["errors"][0]["code"] == "locked"


# -- what a lock blocks --------------------------------------------------------


def test_deleting_a_secret_with_a_locked_current_version_is_412(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)
    lock_current(client, admin, secret_id, "in-use")
    before = snapshot(client, admin, secret_id)

    r = client.delete(f"{V2}/secrets/{secret_id}", headers=admin)

    assert_locked(r)
    assert snapshot(client, admin, secret_id) == before
    assert client.get(f"{V2}/secrets/{secret_id}", headers=admin).json()["payload"] == "v1"


def test_secret_deletes_once_its_locks_are_removed(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)
    lock_current(client, admin, secret_id, "in-use")
    assert client.request("DELETE", f"{V2}/secrets/{secret_id}/locks_bulk", headers=admin).status_code == 200

    r = client.delete(f"{V2}/secrets/{secret_id}", headers=admin)

    assert r.status_code == 204
    assert client.get(f"{V2}/secrets/{secret_id}/metadata", headers=admin).status_code == 404


def test_a_locked_previous_version_blocks_a_new_version(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    new_version(client, admin, secret_id, "p2")
    lock_version(client, admin, secret_id, "previous", "keep-p1")
    current_before = version_id(client, admin, secret_id, "current")
    before = snapshot(client, admin, secret_id)

    r = client.post(
        f"{V2}/secrets/{secret_id}/versions",
        json={"payload": "p3", "custom_metadata": {"rotated": True}, "version_custom_metadata": {"n": 3}},
        headers=admin,
    )

    assert_locked(r)
    assert snapshot(client, admin, secret_id) == before
    assert version_id(client, admin, secret_id, "current") == current_before
    assert client.get(f"{V2}/secrets/{secret_id}", headers=admin).json()["payload"] == "p2"
    assert client.get(f"{V2}/secrets/{secret_id}/versions/previous", headers=admin).json()["payload"] == "p1"


def test_a_refused_new_version_does_not_consume_its_client_request_token(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    new_version(client, admin, secret_id, "p2")
    lock_version(client, admin, secret_id, "previous", "keep-p1")
    body = {"payload": "p3", "client_request_token": "rotate-3"}
    assert_locked(client.post(f"{V2}/secrets/{secret_id}/versions", json=body, headers=admin))
    client.request("DELETE", f"{V2}/secrets/{secret_id}/locks_bulk", headers=admin)

    r = client.post(f"{V2}/secrets/{secret_id}/versions", json=body, headers=admin)

    assert r.status_code == 201, r.text
    assert version_id(client, admin, secret_id, "current") == r.json()["id"]
    assert metadata(client, admin, secret_id)["versions_total"] == 3


def test_a_lock_on_current_does_not_block_a_new_version(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    lock_current(client, admin, secret_id, "in-use")

    new_id = new_version(client, admin, secret_id, "p2")

    assert version_id(client, admin, secret_id, "current") == new_id
    assert metadata(client, admin, secret_id)["versions_total"] == 2


def test_a_lock_on_current_stays_on_its_version_as_it_becomes_previous(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    locked_id = version_id(client, admin, secret_id, "current")
    lock_current(client, admin, secret_id, "in-use")

    new_version(client, admin, secret_id, "p2")

    rows = client.get(f"{V2}/secrets/{secret_id}/locks", headers=admin).json()["locks"]
    assert [(lk["name"], lk["secret_version_id"], lk["secret_version_alias"]) for lk in rows] == [
        ("in-use", locked_id, "previous")
    ]
    assert payload_available(client, admin, secret_id, "previous") is True
    assert metadata(client, admin, secret_id)["locks_total"] == 1


def test_patching_metadata_of_a_locked_version_is_412(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)
    lock_current(client, admin, secret_id, "in-use")
    before = snapshot(client, admin, secret_id)

    r = client.patch(
        f"{V2}/secrets/{secret_id}/versions/current/metadata",
        json={"version_custom_metadata": {"changed": True}},
        headers=admin,
    )

    assert_locked(r)
    assert snapshot(client, admin, secret_id) == before


def test_deleting_data_of_a_locked_version_is_412(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    new_version(client, admin, secret_id, "p2")
    lock_version(client, admin, secret_id, "previous", "keep-p1")
    before = snapshot(client, admin, secret_id)

    r = client.delete(f"{V2}/secrets/{secret_id}/versions/previous/secret_data", headers=admin)

    assert_locked(r)
    assert snapshot(client, admin, secret_id) == before
    assert client.get(f"{V2}/secrets/{secret_id}/versions/previous", headers=admin).json()["payload"] == "p1"


def test_deleting_data_of_a_locked_current_version_does_not_destroy_the_secret(
    client: TestClient, admin: Headers
) -> None:
    secret_id = create_secret(client, admin)
    lock_current(client, admin, secret_id, "in-use")

    r = client.delete(f"{V2}/secrets/{secret_id}/versions/current/secret_data", headers=admin)

    assert_locked(r)
    assert metadata(client, admin, secret_id)["state"] == 1
    assert client.get(f"{V2}/secrets/{secret_id}", headers=admin).json()["payload"] == "v1"


# -- lock modes ----------------------------------------------------------------


def test_remove_previous_mode_moves_a_same_named_lock_off_previous(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    lock_current(client, admin, secret_id, "deploy", "audit-hold")
    old_id = version_id(client, admin, secret_id, "current")
    new_id = new_version(client, admin, secret_id, "p2")

    lock_current(client, admin, secret_id, "deploy", mode="remove_previous")

    assert locks_by_version(client, admin, secret_id) == {old_id: ["audit-hold"], new_id: ["deploy"]}
    assert payload_available(client, admin, secret_id, "previous") is True
    assert metadata(client, admin, secret_id)["locks_total"] == 2


def test_remove_previous_and_delete_erases_previous_data_when_no_lock_is_left(
    client: TestClient, admin: Headers
) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    lock_current(client, admin, secret_id, "deploy")
    old_id = version_id(client, admin, secret_id, "current")
    new_id = new_version(client, admin, secret_id, "p2")

    lock_current(client, admin, secret_id, "deploy", mode="remove_previous_and_delete")

    assert locks_by_version(client, admin, secret_id) == {new_id: ["deploy"]}
    assert payload_available(client, admin, secret_id, old_id) is False
    assert client.get(f"{V2}/secrets/{secret_id}/versions/previous", headers=admin).status_code == 404
    assert client.get(f"{V2}/secrets/{secret_id}", headers=admin).json()["payload"] == "p2"


def test_remove_previous_and_delete_keeps_previous_data_while_another_lock_holds_it(
    client: TestClient, admin: Headers
) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    lock_current(client, admin, secret_id, "deploy", "audit-hold")
    old_id = version_id(client, admin, secret_id, "current")
    new_id = new_version(client, admin, secret_id, "p2")

    lock_current(client, admin, secret_id, "deploy", mode="remove_previous_and_delete")

    assert locks_by_version(client, admin, secret_id) == {old_id: ["audit-hold"], new_id: ["deploy"]}
    assert payload_available(client, admin, secret_id, "previous") is True


def test_an_unknown_lock_mode_is_400_and_writes_nothing(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)
    before = snapshot(client, admin, secret_id)

    r = client.post(
        f"{V2}/secrets/{secret_id}/locks_bulk",
        json={"locks": [{"name": "deploy"}]},
        params={"mode": "remove_everything"},
        headers=admin,
    )

    assert r.status_code == 400
    assert r.json()["errors"][0]["target"]["name"] == "mode"
    assert snapshot(client, admin, secret_id) == before


# -- removing locks -------------------------------------------------------------


def test_deleting_locks_by_name_removes_only_those(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)
    current = version_id(client, admin, secret_id, "current")
    lock_current(client, admin, secret_id, "lock-a", "lock-b")

    r = client.request("DELETE", f"{V2}/secrets/{secret_id}/locks_bulk", params={"name": "lock-a"}, headers=admin)

    assert r.status_code == 200, r.text
    assert locks_by_version(client, admin, secret_id) == {current: ["lock-b"]}
    assert metadata(client, admin, secret_id)["locks_total"] == 1


def test_deleting_locks_by_name_on_the_secret_covers_every_version(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    lock_current(client, admin, secret_id, "lock-a", "lock-b")
    old_id = version_id(client, admin, secret_id, "current")
    new_id = new_version(client, admin, secret_id, "p2")
    lock_current(client, admin, secret_id, "lock-a")

    r = client.request("DELETE", f"{V2}/secrets/{secret_id}/locks_bulk", params={"name": "lock-a"}, headers=admin)

    assert r.status_code == 200, r.text
    assert locks_by_version(client, admin, secret_id) == {old_id: ["lock-b"]}
    assert new_id not in locks_by_version(client, admin, secret_id)


def test_deleting_locks_of_one_version_leaves_the_other_version_locked(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    lock_current(client, admin, secret_id, "lock-a")
    old_id = version_id(client, admin, secret_id, "current")
    new_version(client, admin, secret_id, "p2")
    lock_current(client, admin, secret_id, "lock-a")

    r = client.request("DELETE", f"{V2}/secrets/{secret_id}/versions/current/locks_bulk", headers=admin)

    assert r.status_code == 200, r.text
    assert locks_by_version(client, admin, secret_id) == {old_id: ["lock-a"]}


def test_deleting_all_locks_unblocks_a_new_version(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    new_version(client, admin, secret_id, "p2")
    lock_version(client, admin, secret_id, "previous", "keep-p1")
    client.request("DELETE", f"{V2}/secrets/{secret_id}/locks_bulk", headers=admin)

    r = client.post(f"{V2}/secrets/{secret_id}/versions", json={"payload": "p3"}, headers=admin)

    assert r.status_code == 201, r.text
    assert metadata(client, admin, secret_id)["locks_total"] == 0


# -- counts and listings ----------------------------------------------------------


def test_locks_total_counts_the_locks_of_every_version(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    assert metadata(client, admin, secret_id)["locks_total"] == 0
    lock_current(client, admin, secret_id, "lock-a", "lock-b")
    new_version(client, admin, secret_id, "p2")

    lock_current(client, admin, secret_id, "lock-c")

    assert metadata(client, admin, secret_id)["locks_total"] == 3


def test_lock_creation_reports_the_locks_of_current_and_previous(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    lock_current(client, admin, secret_id, "lock-a")
    old_id = version_id(client, admin, secret_id, "current")
    new_id = new_version(client, admin, secret_id, "p2")

    body = lock_current(client, admin, secret_id, "lock-b")

    assert body["secret_id"] == secret_id
    assert [(v["version_id"], v["version_alias"], v["locks"], v["payload_available"]) for v in body["versions"]] == [
        (new_id, "current", ["lock-b"], True),
        (old_id, "previous", ["lock-a"], True),
    ]


def test_instance_lock_listing_shows_locked_secrets_only(client: TestClient, admin: Headers) -> None:
    locked = create_secret(client, admin, name="locked-one")
    create_secret(client, admin, name="free-one")
    lock_current(client, admin, locked, "in-use")

    r = client.get(f"{V2}/secrets_locks", headers=admin)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total_count"] == 1
    assert [s["secret_id"] for s in body["secrets_locks"]] == [locked]
    assert body["secrets_locks"][0]["versions"][0]["locks"] == ["in-use"]


def test_instance_lock_listing_drops_a_secret_once_unlocked(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)
    lock_current(client, admin, secret_id, "in-use")
    client.request("DELETE", f"{V2}/secrets/{secret_id}/locks_bulk", params={"name": "in-use"}, headers=admin)

    body = client.get(f"{V2}/secrets_locks", headers=admin).json()

    assert (body["total_count"], body["secrets_locks"]) == (0, [])


# -- input rules ----------------------------------------------------------------


def test_an_invalid_lock_name_is_400_and_writes_nothing(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)
    before = snapshot(client, admin, secret_id)

    for bad in ("-leading-dash", "x", "has space", "a" * 65, ""):
        r = client.post(
            f"{V2}/secrets/{secret_id}/locks_bulk", json={"locks": [{"name": "fine"}, {"name": bad}]}, headers=admin
        )
        assert r.status_code == 400, bad
        assert r.json()["errors"][0]["target"]["name"] == "locks.name"

    assert snapshot(client, admin, secret_id) == before


def test_an_empty_lock_list_is_400(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)

    r = client.post(f"{V2}/secrets/{secret_id}/locks_bulk", json={"locks": []}, headers=admin)

    assert r.status_code == 400
    assert metadata(client, admin, secret_id)["locks_total"] == 0


def test_locking_a_version_without_data_is_400_and_writes_nothing(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin, payload="p1")
    new_version(client, admin, secret_id, "p2")
    assert client.delete(f"{V2}/secrets/{secret_id}/versions/previous/secret_data", headers=admin).status_code == 204
    before = snapshot(client, admin, secret_id)

    r = client.post(
        f"{V2}/secrets/{secret_id}/versions/previous/locks_bulk", json={"locks": [{"name": "late"}]}, headers=admin
    )

    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "invalid_input"
    assert snapshot(client, admin, secret_id) == before


def test_locking_a_destroyed_secret_is_400(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)
    assert client.delete(f"{V2}/secrets/{secret_id}/versions/current/secret_data", headers=admin).status_code == 204

    r = client.post(f"{V2}/secrets/{secret_id}/locks_bulk", json={"locks": [{"name": "late"}]}, headers=admin)

    assert r.status_code == 400
    assert metadata(client, admin, secret_id)["locks_total"] == 0


def test_locking_an_unknown_version_is_404(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)

    r = client.post(
        f"{V2}/secrets/{secret_id}/versions/previous/locks_bulk", json={"locks": [{"name": "x1"}]}, headers=admin
    )

    assert r.status_code == 404
    assert metadata(client, admin, secret_id)["locks_total"] == 0


def test_recreating_a_lock_with_the_same_name_replaces_it(client: TestClient, admin: Headers) -> None:
    secret_id = create_secret(client, admin)
    lock_current(client, admin, secret_id, "deploy", description="first")

    lock_current(client, admin, secret_id, "deploy", description="second")

    rows = client.get(f"{V2}/secrets/{secret_id}/locks", headers=admin).json()["locks"]
    assert [(lk["name"], lk["description"]) for lk in rows] == [("deploy", "second")]
    assert metadata(client, admin, secret_id)["locks_total"] == 1
