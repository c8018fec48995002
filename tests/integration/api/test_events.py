"""Events are stored with the change that caused them and reach webhooks signed, retried and logged."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from api.app import create_app
from fixtures.live_server import serve
from lifecycle import scheduler, workers
from lifecycle.background import background_handlers
from lifecycle.core import Core


def _types(client, admin, **params):  # type: ignore[no-untyped-def]
    return [e["event_type"] for e in client.get("/api/v2/events", headers=admin, params=params).json()["events"]]


def test_created_rotated_blocked_and_deleted_events(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = client.post("/api/v2/secrets", headers=admin, json={"secret_type": "kv", "name": "ev", "data": {"a": 1}}).json()
    client.post(f"/api/v2/secrets/{secret['id']}/versions", headers=admin, json={"data": {"a": 2}})
    client.post(f"/api/v2/secrets/{secret['id']}/locks_bulk", headers=admin, json={"locks": [{"name": "app-1"}]})
    assert client.delete(f"/api/v2/secrets/{secret['id']}", headers=admin).status_code == 412
    client.delete(f"/api/v2/secrets/{secret['id']}/locks_bulk", headers=admin)
    client.delete(f"/api/v2/secrets/{secret['id']}", headers=admin)
    assert _types(client, admin, secret_id=secret["id"]) == [
        "secret_created", "secret_rotated", "secret_deletion_blocked", "secret_deleted"]
    assert _types(client, admin, event_type="secret_deleted") == ["secret_deleted"]
    events = client.get("/api/v2/events", headers=admin).json()["events"]
    assert all('"a"' not in json.dumps(e["detail"]) for e in events)  # never a value


def test_about_to_expire_fires_once_per_threshold_then_expired(client, admin, core: Core, clock) -> None:  # type: ignore[no-untyped-def]
    expires = clock() + timedelta(days=95)
    secret = client.post("/api/v2/secrets", headers=admin, json={
        "secret_type": "arbitrary", "name": "soon", "payload": "x", "expiration_date": expires.isoformat()}).json()
    seen = []
    for _ in range(100):  # walk day by day past expiry, ticking twice a day
        for _ in range(2):
            clock.advance(hours=12)
            scheduler.tick(core)
    for event in client.get("/api/v2/events", headers=admin, params={"secret_id": secret["id"]}).json()["events"]:
        seen.append((event["event_type"], event["detail"].get("days_left")))
    assert seen == [("secret_created", None)] + [("secret_about_to_expire", d) for d in (90, 60, 30, 10, 1, 0)] + [
        ("secret_expired", None)]


def test_unknown_event_type_filter_is_400(client, admin) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v2/events", headers=admin, params={"event_type": "nope"}).status_code == 400


def test_webhook_to_a_loopback_address_is_refused_by_default(client, admin) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v2/webhooks", headers=admin, json={"url": "http://127.0.0.1:9/hook"})
    assert resp.status_code == 400 and "private or loopback" in resp.json()["errors"][0]["message"]


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0

    async def hook(self, request: Request) -> JSONResponse:
        if self.fail_next:
            self.fail_next -= 1
            return JSONResponse({"error": "down"}, status_code=503)
        self.received.append((dict(request.headers), await request.body()))
        return JSONResponse({"ok": True})


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver()
    with serve(Starlette(routes=[Route("/hook", r.hook, methods=["POST"])])) as base:
        yield r, base + "/hook"


def test_webhook_deliveries_are_signed_retried_and_logged(core: Core, admin, receiver, clock) -> None:  # type: ignore[no-untyped-def]
    recv, url = receiver
    core = dataclasses.replace(core, allow_private_webhooks=True)
    with TestClient(create_app(core)) as client:
        hook = client.post("/api/v2/webhooks", headers=admin, json={"url": url, "event_types": ["secret_created"]}).json()
        key = hook.pop("signing_key")
        assert "signing_key" not in client.get("/api/v2/webhooks", headers=admin).text
        recv.fail_next = 1
        client.post("/api/v2/secrets", headers=admin, json={"secret_type": "kv", "name": "hooked", "data": {}})
        assert workers.run_due(core, background_handlers()) == 1  # first attempt: 503
        assert recv.received == []
        clock.advance(minutes=2)
        assert workers.run_due(core, background_handlers()) == 1  # retried after backoff
        headers, body = recv.received[0]
        timestamp, digest = (p.split("=", 1)[1] for p in headers["x-certkeeper-signature"].split(","))
        expected = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(digest, expected)
        payload: dict[str, Any] = json.loads(body)
        assert payload["event_type"] == "secret_created" and payload["secret_name"] == "hooked"
        log = client.get(f"/api/v2/webhooks/{hook['id']}/deliveries", headers=admin).json()["deliveries"]
        assert [(d["status"], d["attempts"]) for d in log] == [("succeeded", 2)]


@pytest.mark.parametrize("address", ["100.64.0.1", "169.254.169.254", "10.1.2.3", "::1", "fd00::1", "0.0.0.0"])
def test_webhook_to_any_non_global_address_is_refused(client, admin, monkeypatch, address) -> None:  # type: ignore[no-untyped-def]
    from lifecycle import webhooks

    monkeypatch.setattr(webhooks, "_resolve", lambda host: [address])
    resp = client.post("/api/v2/webhooks", headers=admin, json={"url": "https://hooks.example.com/in"})
    assert resp.status_code == 400 and f"resolves to {address}" in resp.json()["errors"][0]["message"]


def test_a_delivery_never_follows_a_redirect(core: Core, admin, receiver) -> None:  # type: ignore[no-untyped-def]
    """A 3xx is the delivery's answer: its Location (here a path no hook should reach) is
    never asked for."""
    from starlette.responses import RedirectResponse

    recv, url = receiver
    reached: list[str] = []

    async def moved(request: Request) -> RedirectResponse:
        return RedirectResponse(url, status_code=302)

    async def internal(request: Request) -> JSONResponse:
        reached.append(request.method)
        return JSONResponse({})

    core = dataclasses.replace(core, allow_private_webhooks=True)
    with serve(Starlette(routes=[Route("/moved", moved, methods=["POST"]), Route("/hook", internal,
                                                                                 methods=["GET", "POST"])])) as base:
        url = base + "/hook"
        with TestClient(create_app(core)) as client:
            hook = client.post("/api/v2/webhooks", headers=admin, json={"url": base + "/moved"}).json()
            client.post("/api/v2/secrets", headers=admin, json={"secret_type": "kv", "name": "hooked", "data": {}})
            assert workers.run_due(core, background_handlers()) == 1
            log = client.get(f"/api/v2/webhooks/{hook['id']}/deliveries", headers=admin).json()["deliveries"]
    assert reached == []
    assert log[0]["errors"] == [{"code": "http_302", "description": "HTTP 302 (redirects are not followed)"}]


def test_a_host_that_resolves_to_a_private_address_at_delivery_is_not_reached(  # type: ignore[no-untyped-def]
        core: Core, admin, receiver, monkeypatch) -> None:
    """Public when registered, loopback when the delivery goes out (DNS rebinding): the
    delivery is refused, and the receiver on loopback never sees it."""
    from lifecycle import webhooks

    recv, url = receiver
    port = url.split(":")[2].split("/")[0]
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    monkeypatch.setattr(webhooks, "_resolve", lambda host: next(answers))
    with TestClient(create_app(core)) as client:
        hook = client.post("/api/v2/webhooks", headers=admin, json={"url": f"http://rebind.example:{port}/hook"}).json()
        client.post("/api/v2/secrets", headers=admin, json={"secret_type": "kv", "name": "hooked", "data": {}})
        assert workers.run_due(core, background_handlers()) == 1
        log = client.get(f"/api/v2/webhooks/{hook['id']}/deliveries", headers=admin).json()["deliveries"]
    assert recv.received == []
    assert log[0]["errors"][0]["code"] == "refused" and "127.0.0.1" in log[0]["errors"][0]["description"]


@pytest.mark.parametrize("url", ["https://hooks.example.com/é", "https://hooks.example.com/a b", "https://hooks.example.com/?q=ü"])
def test_a_webhook_url_whose_path_http_cannot_send_is_refused(client, admin, monkeypatch, url) -> None:  # type: ignore[no-untyped-def]
    from lifecycle import webhooks

    monkeypatch.setattr(webhooks, "_resolve", lambda host: ["93.184.216.34"])
    resp = client.post("/api/v2/webhooks", headers=admin, json={"url": url})
    assert resp.status_code == 400 and "percent-encode" in resp.json()["errors"][0]["message"]
