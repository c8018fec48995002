"""Odd input on every route gets a 4xx naming the problem, never a 500, and writes nothing."""

from __future__ import annotations

import logging
import re

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from api.app import create_app
from api.endpoint import Endpoint
from api.routes.table import ROUTES
from lifecycle.core import Actor, Core
from lifecycle.vocabulary import Role

ODD_BODIES = [
    b"null", b"[]", b"42", b'"text"', b"{", b"\xff\xfe", b'{"name": NaN}', b'{"a": Infinity}',
    b'{"name": "\\ud800"}', b"[" * 5000 + b"]" * 5000, b'{"n": ' + b"9" * 5000 + b"}",
    b'{"name": null, "secret_type": null, "payload": null, "data": null, "locks": null}',
    b'{"name": 1, "secret_type": 2, "payload": 3, "labels": "x", "locks": [1]}',
    b'{"secret_type": "arbitrary", "name": "ok-name", "payload": "x", "expiration_date": "9999-12-31T23:59:59-10:00"}',
    b'{"secret_type": "kv", "name": "ok-name", "data": {"a": "\\u0000"}, "description": "nul\\u0000here"}',
]


def _path(template: str, secret_id: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: secret_id if m.group(1) in ("id", "secret_id") else "x1", template)


def _snapshot(client: TestClient, admin: dict[str, str]) -> tuple[int, int]:
    listed = client.get("/api/v2/secrets", headers=admin).json()
    return listed["total_count"], sum(s["versions_total"] for s in listed["secrets"])


def test_odd_bodies_on_every_writing_route_are_4xx_and_write_nothing(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = client.post("/api/v2/secrets", headers=admin, json={"secret_type": "kv", "name": "target", "data": {"k": 1}}).json()
    before = _snapshot(client, admin)
    for ep in ROUTES:
        if ep.method not in ("POST", "PATCH"):
            continue
        for body in ODD_BODIES:
            resp = client.request(ep.method, _path(ep.path, secret["id"]), content=body,
                                  headers={**admin, "content-type": "application/json"})
            assert 400 <= resp.status_code < 500, f"{ep.method} {ep.path} {body[:60]!r} -> {resp.status_code} {resp.text[:200]}"
    assert _snapshot(client, admin) == before


@pytest.mark.parametrize("query", [
    "offset=9223372036854775808", "offset=-1", "limit=0", "offset=%EF%BC%91", "sort=--name", "sort=password",
    "search=%00", "groups=%00", "match_all_labels=a%00b", "secret_types=nope",
])
def test_odd_list_queries_are_400(client, admin, query) -> None:  # type: ignore[no-untyped-def]
    resp = client.get(f"/api/v2/secrets?{query}", headers=admin)
    assert resp.status_code == 400, resp.text


def test_known_but_unstored_secret_types_filter_to_an_empty_page(client, admin) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v2/secrets?secret_types=iam_credentials", headers=admin)
    assert resp.status_code == 200 and resp.json()["total_count"] == 0


@pytest.mark.parametrize("path", [
    "/api/v2/secrets/%00", "/api/v2/secrets/x%00/metadata", "/api/v2/secret_groups/default/secret_types/%00/secrets/x",
    "/api/v2/secret_groups/%00",
])
def test_nul_in_path_is_400(client, admin, path) -> None:  # type: ignore[no-untyped-def]
    assert client.get(path, headers=admin).status_code == 400


@pytest.mark.parametrize(("fields", "field"), [
    ({"expiration_date": 4102444800}, "expiration_date"),  # seconds: pydantic alone took it
    ({"expiration_date": 4102444800000}, "expiration_date"),  # ... and this, as milliseconds
    ({"expiration_date": "4102444800"}, "expiration_date"),
    ({"expiration_date": 1e10}, "expiration_date"),
    ({"expiration_date": "2100-01-01"}, "expiration_date"),  # a date without its time
    ({"rotation": {"auto_rotate": True, "interval": True, "unit": "day"}}, "rotation.interval"),
    ({"rotation": {"auto_rotate": True, "interval": "2", "unit": "day"}}, "rotation.interval"),
    ({"rotation": {"auto_rotate": True, "interval": 2.0, "unit": "day"}}, "rotation.interval"),
    ({"password_generation_policy": {"length": "20"}}, "password_generation_policy.length"),
    ({"password_generation_policy": {"length": 20.0}}, "password_generation_policy.length"),
])
def test_dates_and_numbers_of_the_wrong_json_type_are_refused_naming_the_field(  # type: ignore[no-untyped-def]
        client, admin, fields, field) -> None:
    body = {"secret_type": "username_password", "name": "typed", "username": "app"} | fields
    r = client.post("/api/v2/secrets", headers=admin, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["message"].startswith(f"{field}: "), r.text
    created = client.post("/api/v2/secrets", headers=admin, json={"secret_type": "username_password", "name": "typed2",
                                                                 "username": "app"}).json()
    patched = client.patch(f"/api/v2/secrets/{created['id']}/metadata", headers=admin, json=fields)
    assert patched.status_code == 400, patched.text
    assert client.get("/api/v2/secrets", headers=admin).json()["total_count"] == 1


@pytest.mark.parametrize("name", ["ab\n", "ab\r\n", " ab", "a/b"])
def test_names_with_trailing_newline_or_odd_characters_are_refused(client, admin, name) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v2/secrets", headers=admin, json={"secret_type": "kv", "name": name, "data": {}})
    assert resp.status_code == 400 and "name" in resp.json()["errors"][0]["message"]


def test_unexpected_errors_are_a_500_whose_log_and_body_quote_nothing(core: Core, caplog) -> None:  # type: ignore[no-untyped-def]
    async def explode(request: Request, core: Core, actor: Actor) -> Response:
        raise ValueError("leaked " + request.query_params["value"])  # as a library quoting its input would

    routes = (Endpoint("GET", "/boom", explode, None, "test only"),)
    with TestClient(create_app(core, routes=routes), raise_server_exceptions=False) as client:
        with caplog.at_level(logging.DEBUG):
            resp = client.get("/boom", params={"value": "SECRET-IN-EXCEPTION-MESSAGE"})
    assert resp.status_code == 500 and resp.json()["errors"][0]["code"] == "internal_error"
    assert "SECRET-IN-EXCEPTION-MESSAGE" not in resp.text
    assert "SECRET-IN-EXCEPTION-MESSAGE" not in caplog.text.replace("GET http://testserver/boom?value=SECRET-IN-EXCEPTION-MESSAGE", "")
    assert "ValueError" in caplog.text  # the type and the place are logged for the operator


def test_group_scoped_token_reaches_nothing_of_another_group_on_any_route(client, admin, token_for) -> None:  # type: ignore[no-untyped-def]
    other = client.post("/api/v2/secret_groups", headers=admin, json={"name": "other-team"}).json()
    mine = client.post("/api/v2/secret_groups", headers=admin, json={"name": "my-team"}).json()
    secret = client.post("/api/v2/secrets", headers=admin, json={
        "secret_type": "arbitrary", "name": "theirs", "payload": "THEIR-VALUE", "secret_group_id": other["id"]}).json()
    client.post(f"/api/v2/secrets/{secret['id']}/locks_bulk", headers=admin, json={"locks": [{"name": "their-lock"}]})
    scoped = token_for(Role.MANAGER, groups=[mine["id"]])
    for ep in ROUTES:
        if ep.role is None or "{" not in ep.path or "configurations" in ep.path:
            continue
        path = re.sub(r"{(\w+)}", lambda m: {"id": secret["id"], "secret_id": secret["id"], "secret_group_name": "other-team",
                                             "secret_type": "arbitrary", "name": "theirs"}.get(m.group(1), "current"), ep.path)
        if "/secret_groups/{id}" in ep.path:
            path = ep.path.replace("{id}", other["id"])
        resp = client.request(ep.method, path, headers=scoped, json={"locks": [{"name": "x1"}], "payload": "y"})
        assert resp.status_code in (400, 403, 404), f"{ep.method} {path} -> {resp.status_code}"
        assert "THEIR-VALUE" not in resp.text and "their-lock" not in resp.text
    assert client.get(f"/api/v2/secrets/{secret['id']}", headers=admin).json()["payload"] == "THEIR-VALUE"
    assert "their-lock" not in client.get("/api/v2/secrets_locks", headers=scoped).text
