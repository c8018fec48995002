"""Webhook deliveries behind a forward proxy (Debian's tinyproxy, as an egress proxy would be):
the address is still checked here, the proxy is asked for that address, TLS is verified end to
end for the host name, NO_PROXY is honoured, proxy credentials come from the proxy URL."""

from __future__ import annotations

import dataclasses
import http.server
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from api.app import create_app
from fixtures.live_server import free_port
from fixtures.tinyproxy import TinyProxy, tinyproxy
from fixtures.tls_server import self_signed
from lifecycle import webhook_http, workers
from lifecycle.background import background_handlers
from lifecycle.core import Core

LOOPBACK = ["127.0.0.1"]


class _Receiver(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def receiver(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, list[dict[str, str]]]]:
    """A loopback HTTP(S) server answering 204 to POSTs; yields its port and the requests it got."""
    handler = type("Receiver", (_Receiver,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TinyProxy]:
    for var in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    with tinyproxy(tmp_path) as running:
        monkeypatch.setenv("HTTP_PROXY", running.url)
        monkeypatch.setenv("HTTPS_PROXY", running.url)
        yield running


def deliver(url: str, *, allow_private: bool = True, resolved: list[str] = LOOPBACK) -> int:
    return webhook_http.post(url, b'{"event": "test"}', {"Content-Type": "application/json"},
                             allow_private=allow_private, resolve=lambda host: resolved, timeout=10.0)


def test_http_goes_through_the_proxys_tunnel_to_the_address_checked_here(proxy: TinyProxy) -> None:
    """Tunnelled, not relayed by absolute URI: a relayed request would have to name the address,
    and the proxy would put it in the Host header the receiver's virtual hosts go by."""
    with receiver() as (port, seen):
        assert deliver(f"http://hook.test:{port}/in?x=1") == 204
    assert proxy.requests() == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]
    assert seen[0]["path"] == "/in?x=1" and seen[0]["host"] == f"hook.test:{port}"


def test_https_tunnels_to_the_address_checked_here_and_verifies_the_host_name(
    proxy: TinyProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_tls, anchor = self_signed(tmp_path, "hook.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(anchor))
    with receiver(server_tls) as (port, seen):
        assert deliver(f"https://hook.test:{port}/in") == 204
        with pytest.raises(ssl.SSLCertVerificationError):  # the certificate is checked for the URL's host
            deliver(f"https://other.test:{port}/in")
    assert proxy.requests()[0] == f"CONNECT 127.0.0.1:{port} HTTP/1.1"
    assert len(seen) == 1 and seen[0]["host"] == f"hook.test:{port}"


def test_no_proxy_sends_a_host_straight_to_its_address(proxy: TinyProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "hook.test")
    with receiver() as (port, seen):
        assert deliver(f"http://hook.test:{port}/in") == 204
    assert proxy.requests() == [] and len(seen) == 1


def test_an_address_webhooks_may_not_reach_is_refused_before_the_proxy_is_asked(proxy: TinyProxy) -> None:
    with pytest.raises(webhook_http.Refused):
        deliver("http://hook.test/in", allow_private=False, resolved=["10.1.2.3"])
    assert proxy.requests() == []


def test_proxy_credentials_come_from_its_url_and_never_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    server_tls, anchor = self_signed(tmp_path, "hook.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(anchor))
    with tinyproxy(tmp_path, basic_auth="relay:s3cret-pw") as running, receiver(server_tls) as (port, seen):
        authority = running.url.removeprefix("http://")
        monkeypatch.setenv("HTTPS_PROXY", f"http://relay:wrong-pw@{authority}")
        with pytest.raises(OSError) as refused:
            deliver(f"https://hook.test:{port}/in")
        assert re.search(r"answered 40[17] to CONNECT", str(refused.value)) and "wrong-pw" not in str(refused.value)
        monkeypatch.setenv("HTTPS_PROXY", f"http://relay:s3cret-pw@{authority}")
        assert deliver(f"https://hook.test:{port}/in") == 204
    assert len(seen) == 1 and "proxy-authorization" not in seen[0]  # the tunnel's header stays with the proxy


def test_a_proxy_that_does_not_answer_is_named_in_the_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with receiver() as (port, seen), pytest.raises(OSError, match=r"proxy 127\.0\.0\.1:\d+ unreachable"):
        deliver(f"http://hook.test:{port}/in")
    assert seen == []  # never straight to the receiver instead


def test_a_proxy_refusing_the_tunnel_is_asked_once_not_for_every_address(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A 407 is about the proxy: asking again for each address would only repeat wrong
    credentials (and lock out the proxy's account the sooner)."""
    for var in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    with tinyproxy(tmp_path, basic_auth="relay:right") as running, receiver() as (port, seen):
        monkeypatch.setenv("HTTP_PROXY", running.url.replace("http://", "http://relay:wrong@"))
        with pytest.raises(webhook_http.ProxyError, match=r"answered 40[17]"):
            deliver(f"http://hook.test:{port}/in", resolved=["127.0.0.1", "127.0.0.2", "127.0.0.3"])
        assert len(running.requests()) == 1 and seen == []


def test_the_delivery_log_names_the_proxy_that_failed(core: Core, admin: dict[str, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "https_proxy", "no_proxy", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    dead = free_port()
    monkeypatch.setenv("HTTP_PROXY", f"http://relay:s3cret@127.0.0.1:{dead}")
    core = dataclasses.replace(core, allow_private_webhooks=True)
    with receiver() as (port, seen), TestClient(create_app(core)) as client:
        hook = client.post("/api/v2/webhooks", headers=admin, json={"url": f"http://127.0.0.1:{port}/in"}).json()
        client.post("/api/v2/secrets", headers=admin, json={"secret_type": "kv", "name": "hooked", "data": {}})
        assert workers.run_due(core, background_handlers()) == 1
        log = client.get(f"/api/v2/webhooks/{hook['id']}/deliveries", headers=admin).json()["deliveries"]
    error = log[0]["errors"][0]
    assert error["code"] == "proxy" and f"proxy 127.0.0.1:{dead} unreachable" in error["description"], error
    assert "s3cret" not in str(log) and seen == []
