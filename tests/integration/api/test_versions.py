"""Versions over HTTP: stage labels, retention, idempotent creation, version metadata,
erasing a version's data, type-specific version fields, and version references.

Every test runs on SQLite and PostgreSQL (the `database_url` fixture is parametrized).
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

V2 = "/api/v2"
Headers = dict[str, str]


# -- helpers ----------------------------------------------------------------


def create_secret(client: TestClient, admin: Headers, **body: Any) -> dict[str, Any]:
    body.setdefault("secret_type", "arbitrary")
    body.setdefault("name", "app-secret")
    if body["secret_type"] == "arbitrary":
        body.setdefault("payload", "v1")
    r = client.post(f"{V2}/secrets", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def new_version(client: TestClient, admin: Headers, secret_id: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"{V2}/secrets/{secret_id}/versions", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def version(client: TestClient, admin: Headers, secret_id: str, ref: str) -> dict[str, Any]:
    r = client.get(f"{V2}/secrets/{secret_id}/versions/{ref}", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


def version_metadata(client: TestClient, admin: Headers, secret_id: str, ref: str) -> dict[str, Any]:
    r = client.get(f"{V2}/secrets/{secret_id}/versions/{ref}/metadata", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


def list_versions(client: TestClient, admin: Headers, secret_id: str) -> dict[str, Any]:
    r = client.get(f"{V2}/secrets/{secret_id}/versions", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


def metadata(client: TestClient, admin: Headers, secret_id: str) -> dict[str, Any]:
    r = client.get(f"{V2}/secrets/{secret_id}/metadata", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


def snapshot(client: TestClient, admin: Headers, secret_id: str) -> dict[str, Any]:
    """What a failed request must leave untouched: counts, stage labels, every version's metadata."""
    meta = metadata(client, admin, secret_id)
    listed = list_versions(client, admin, secret_id)["versions"]
    return {
        "versions_total": meta["versions_total"],
        "locks_total": meta["locks_total"],
        "state": meta["state"],
        "custom_metadata": meta["custom_metadata"],
        "versions": sorted(
            ((v["id"], v.get("alias"), v["payload_available"], repr(v["version_custom_metadata"])) for v in listed)
        ),
    }


def error_field(response: Any) -> str | None:
    return response.json()["errors"][0].get("target", {}).get("name")


# -- stage labels -------------------------------------------------------------


def test_new_version_becomes_current_and_old_current_becomes_previous(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, payload="first")
    first_id = version_metadata(client, admin, secret["id"], "current")["id"]

    created = new_version(client, admin, secret["id"], payload="second")

    assert created["alias"] == "current"
    current = version(client, admin, secret["id"], "current")
    previous = version(client, admin, secret["id"], "previous")
    assert (current["id"], current["alias"], current["payload"]) == (created["id"], "current", "second")
    assert (previous["id"], previous["alias"], previous["payload"]) == (first_id, "previous", "first")


def test_each_new_version_shifts_the_stage_labels_by_one(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, payload="p1")
    v2 = new_version(client, admin, secret["id"], payload="p2")
    v3 = new_version(client, admin, secret["id"], payload="p3")

    aliases = {v["id"]: v.get("alias") for v in list_versions(client, admin, secret["id"])["versions"]}

    assert aliases[v3["id"]] == "current"
    assert aliases[v2["id"]] == "previous"
    assert sorted(a for a in aliases.values() if a) == ["current", "previous"]
    assert version(client, admin, secret["id"], "current")["payload"] == "p3"
    assert version(client, admin, secret["id"], "previous")["payload"] == "p2"


def test_created_version_response_carries_the_data_as_the_contract_does(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)

    created = new_version(client, admin, secret["id"], payload="new-data")

    # The SDK parses this answer as a SecretVersion, whose kv and username_password
    # variants require the data.
    assert created["payload"] == "new-data"
    assert created["alias"] == "current"


# -- retention ----------------------------------------------------------------


def test_versions_older_than_previous_have_no_payload(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, payload="p1")
    first_id = version_metadata(client, admin, secret["id"], "current")["id"]
    new_version(client, admin, secret["id"], payload="p2")
    new_version(client, admin, secret["id"], payload="p3")

    meta = version_metadata(client, admin, secret["id"], first_id)
    listed = {v["id"]: v for v in list_versions(client, admin, secret["id"])["versions"]}

    assert meta["payload_available"] is False
    assert "alias" not in meta
    assert listed[first_id]["payload_available"] is False
    assert all(v["payload_available"] for vid, v in listed.items() if vid != first_id)


def test_reading_the_data_of_a_version_older_than_previous_is_404(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, payload="p1")
    first_id = version_metadata(client, admin, secret["id"], "current")["id"]
    new_version(client, admin, secret["id"], payload="p2")
    new_version(client, admin, secret["id"], payload="p3")

    r = client.get(f"{V2}/secrets/{secret['id']}/versions/{first_id}", headers=admin)

    assert r.status_code == 404
    assert r.json()["errors"][0]["code"] == "not_found"
    assert "p1" not in r.text


def test_only_the_newest_50_versions_metadata_are_kept(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, payload="p1")
    ids = [version_metadata(client, admin, secret["id"], "current")["id"]]
    for n in range(2, 56):
        ids.append(new_version(client, admin, secret["id"], payload=f"p{n}")["id"])
    assert len(ids) == 55

    listed = list_versions(client, admin, secret["id"])

    assert listed["total_count"] == 50
    assert {v["id"] for v in listed["versions"]} == set(ids[-50:])
    assert metadata(client, admin, secret["id"])["versions_total"] == 50
    for dropped in ids[:5]:
        r = client.get(f"{V2}/secrets/{secret['id']}/versions/{dropped}/metadata", headers=admin)
        assert r.status_code == 404
    assert version(client, admin, secret["id"], "current")["payload"] == "p55"
    assert version(client, admin, secret["id"], "previous")["payload"] == "p54"


# -- idempotent creation (client_request_token) ----------------------------------


def test_version_creation_replayed_with_the_same_token_returns_the_same_version(
    client: TestClient, admin: Headers
) -> None:
    secret = create_secret(client, admin)
    first = new_version(client, admin, secret["id"], payload="p2", client_request_token="rotate-1")

    replay = new_version(client, admin, secret["id"], payload="p2", client_request_token="rotate-1")

    assert replay["id"] == first["id"]
    assert metadata(client, admin, secret["id"])["versions_total"] == 2
    assert list_versions(client, admin, secret["id"])["total_count"] == 2
    assert version_metadata(client, admin, secret["id"], "current")["id"] == first["id"]


def test_version_creation_with_a_reused_token_and_other_data_is_409(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)
    first = new_version(client, admin, secret["id"], payload="p2", client_request_token="rotate-1")
    before = snapshot(client, admin, secret["id"])

    r = client.post(
        f"{V2}/secrets/{secret['id']}/versions",
        json={"payload": "other", "client_request_token": "rotate-1"},
        headers=admin,
    )

    assert r.status_code == 409
    assert r.json()["errors"][0]["code"] == "conflict"
    assert error_field(r) == "client_request_token"
    assert snapshot(client, admin, secret["id"]) == before
    assert version(client, admin, secret["id"], "current")["id"] == first["id"]
    assert version(client, admin, secret["id"], "current")["payload"] == "p2"


def test_replayed_generated_password_version_keeps_the_first_password(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, secret_type="username_password", name="db-login", username="app")
    first = new_version(client, admin, secret["id"], client_request_token="rotate-pw")
    password = version(client, admin, secret["id"], first["id"])["password"]

    replay = new_version(client, admin, secret["id"], client_request_token="rotate-pw")

    assert replay["id"] == first["id"]
    assert replay["password"] == password
    assert version(client, admin, secret["id"], "current")["password"] == password
    assert metadata(client, admin, secret["id"])["versions_total"] == 2


def test_secret_creation_replayed_with_the_same_token_returns_the_same_secret(
    client: TestClient, admin: Headers
) -> None:
    first = create_secret(client, admin, name="idem", payload="p1", client_request_token="create-1")

    replay = create_secret(client, admin, name="idem", payload="p1", client_request_token="create-1")

    assert replay["id"] == first["id"]
    listed = client.get(f"{V2}/secrets", headers=admin).json()
    assert listed["total_count"] == 1
    assert metadata(client, admin, first["id"])["versions_total"] == 1


def test_secret_creation_with_a_reused_token_and_other_data_is_409(client: TestClient, admin: Headers) -> None:
    first = create_secret(client, admin, name="idem", payload="p1", client_request_token="create-1")

    r = client.post(
        f"{V2}/secrets",
        json={"secret_type": "arbitrary", "name": "idem", "payload": "different", "client_request_token": "create-1"},
        headers=admin,
    )

    assert r.status_code == 409
    assert error_field(r) == "client_request_token"
    listed = client.get(f"{V2}/secrets", headers=admin).json()
    assert [s["id"] for s in listed["secrets"]] == [first["id"]]
    assert client.get(f"{V2}/secrets/{first['id']}", headers=admin).json()["payload"] == "p1"


# -- version metadata -----------------------------------------------------------


def test_patching_version_custom_metadata_replaces_it(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, version_custom_metadata={"old": "x"})

    r = client.patch(
        f"{V2}/secrets/{secret['id']}/versions/current/metadata",
        json={"version_custom_metadata": {"build": 7}},
        headers=admin,
    )

    assert r.status_code == 200, r.text
    assert r.json()["version_custom_metadata"] == {"build": 7}
    assert version_metadata(client, admin, secret["id"], "current")["version_custom_metadata"] == {"build": 7}


def test_patching_one_versions_metadata_leaves_the_others_alone(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, version_custom_metadata={"v": 1})
    new_version(client, admin, secret["id"], payload="p2", version_custom_metadata={"v": 2})

    r = client.patch(
        f"{V2}/secrets/{secret['id']}/versions/previous/metadata",
        json={"version_custom_metadata": {"v": "one"}},
        headers=admin,
    )

    assert r.status_code == 200, r.text
    assert version_metadata(client, admin, secret["id"], "previous")["version_custom_metadata"] == {"v": "one"}
    assert version_metadata(client, admin, secret["id"], "current")["version_custom_metadata"] == {"v": 2}


def test_patching_a_version_field_other_than_custom_metadata_is_400(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)
    before = snapshot(client, admin, secret["id"])

    r = client.patch(
        f"{V2}/secrets/{secret['id']}/versions/current/metadata",
        json={"payload_available": False},
        headers=admin,
    )

    assert r.status_code == 400
    assert error_field(r) == "payload_available"
    assert snapshot(client, admin, secret["id"]) == before


def test_version_metadata_of_a_new_version_is_stored(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)

    created = new_version(client, admin, secret["id"], payload="p2", version_custom_metadata={"ticket": "CHG-1"})

    assert created["version_custom_metadata"] == {"ticket": "CHG-1"}
    stored = version_metadata(client, admin, secret["id"], created["id"])
    assert stored["version_custom_metadata"] == {"ticket": "CHG-1"}


# -- erasing a version's data ----------------------------------------------------


def test_deleting_previous_version_data_makes_its_payload_unavailable(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, payload="p1")
    new_version(client, admin, secret["id"], payload="p2")

    r = client.delete(f"{V2}/secrets/{secret['id']}/versions/previous/secret_data", headers=admin)

    assert r.status_code == 204
    previous = version_metadata(client, admin, secret["id"], "previous")
    assert previous["payload_available"] is False
    assert client.get(f"{V2}/secrets/{secret['id']}/versions/previous", headers=admin).status_code == 404
    meta = metadata(client, admin, secret["id"])
    assert meta["state"] == 1
    assert version(client, admin, secret["id"], "current")["payload"] == "p2"


def test_deleting_current_version_data_destroys_the_secret(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, payload="p1")

    r = client.delete(f"{V2}/secrets/{secret['id']}/versions/current/secret_data", headers=admin)

    assert r.status_code == 204
    meta = metadata(client, admin, secret["id"])
    assert (meta["state"], meta["state_description"]) == (5, "destroyed")
    assert version_metadata(client, admin, secret["id"], "current")["payload_available"] is False
    assert client.get(f"{V2}/secrets/{secret['id']}", headers=admin).status_code == 404


def test_deleting_data_of_an_unknown_version_is_404_and_changes_nothing(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)
    before = snapshot(client, admin, secret["id"])

    r = client.delete(
        f"{V2}/secrets/{secret['id']}/versions/00000000-0000-0000-0000-000000000000/secret_data", headers=admin
    )

    assert r.status_code == 404
    assert snapshot(client, admin, secret["id"]) == before


# -- fields by secret type -------------------------------------------------------


def test_a_field_of_another_type_on_a_new_version_is_400_naming_it(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)
    before = snapshot(client, admin, secret["id"])

    r = client.post(f"{V2}/secrets/{secret['id']}/versions", json={"data": {"k": "v"}}, headers=admin)

    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "invalid_input"
    assert error_field(r) == "data"
    assert "data" in r.json()["errors"][0]["message"]
    assert snapshot(client, admin, secret["id"]) == before


def test_a_password_on_a_new_kv_version_is_400_naming_it(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, secret_type="kv", name="cfg", data={"a": 1})
    before = snapshot(client, admin, secret["id"])

    r = client.post(f"{V2}/secrets/{secret['id']}/versions", json={"password": "hunter2"}, headers=admin)

    assert r.status_code == 400
    assert error_field(r) == "password"
    assert snapshot(client, admin, secret["id"]) == before


def test_a_field_unknown_to_every_type_on_a_new_version_is_400_naming_it(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)
    before = snapshot(client, admin, secret["id"])

    r = client.post(f"{V2}/secrets/{secret['id']}/versions", json={"payload": "p2", "colour": "red"}, headers=admin)

    assert r.status_code == 400
    assert error_field(r) == "colour"
    assert snapshot(client, admin, secret["id"]) == before


def test_new_username_password_version_without_password_generates_a_new_one(
    client: TestClient, admin: Headers
) -> None:
    secret = create_secret(
        client, admin, secret_type="username_password", name="db-login", username="app", password="initial-Pass-1"
    )

    created = new_version(client, admin, secret["id"])

    current = version(client, admin, secret["id"], "current")
    previous = version(client, admin, secret["id"], "previous")
    assert current["id"] == created["id"]
    assert current["username"] == "app"
    assert previous["password"] == "initial-Pass-1"
    assert current["password"] and current["password"] != previous["password"]


def test_new_username_password_version_with_password_stores_it(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin, secret_type="username_password", name="db-login", username="app")

    new_version(client, admin, secret["id"], password="Chosen-Pass-2")

    assert version(client, admin, secret["id"], "current")["password"] == "Chosen-Pass-2"


# -- version references -----------------------------------------------------------


def test_current_and_previous_resolve_to_the_staged_version_ids(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)
    first_id = list_versions(client, admin, secret["id"])["versions"][0]["id"]
    second = new_version(client, admin, secret["id"], payload="p2")

    assert version_metadata(client, admin, secret["id"], "current")["id"] == second["id"]
    assert version_metadata(client, admin, secret["id"], "previous")["id"] == first_id
    assert version(client, admin, secret["id"], second["id"])["alias"] == "current"
    assert version(client, admin, secret["id"], first_id)["alias"] == "previous"


def test_previous_of_a_secret_with_one_version_is_404(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)

    r = client.get(f"{V2}/secrets/{secret['id']}/versions/previous/metadata", headers=admin)

    assert r.status_code == 404


def test_unknown_version_id_is_404(client: TestClient, admin: Headers) -> None:
    secret = create_secret(client, admin)
    unknown = "00000000-0000-0000-0000-000000000000"

    for path in (f"versions/{unknown}", f"versions/{unknown}/metadata", "versions/latest"):
        r = client.get(f"{V2}/secrets/{secret['id']}/{path}", headers=admin)
        assert r.status_code == 404, path
        assert r.json()["errors"][0]["code"] == "not_found"


def test_a_version_id_of_another_secret_is_404(client: TestClient, admin: Headers) -> None:
    one = create_secret(client, admin, name="one")
    other = create_secret(client, admin, name="other")
    other_version = version_metadata(client, admin, other["id"], "current")["id"]

    r = client.get(f"{V2}/secrets/{one['id']}/versions/{other_version}", headers=admin)

    assert r.status_code == 404


def test_new_version_of_an_unknown_secret_is_404(client: TestClient, admin: Headers) -> None:
    r = client.post(
        f"{V2}/secrets/00000000-0000-0000-0000-000000000000/versions", json={"payload": "p"}, headers=admin
    )

    assert r.status_code == 404
