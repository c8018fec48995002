"""One webhook delivery: the addresses it may reach, every address tried, a bounded wait."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lifecycle import webhook_http


@pytest.mark.parametrize("address", [
    "10.0.0.1", "127.0.0.1", "100.64.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.1",  # IPv4 not global
    "::1", "fd00::1", "fe80::1", "fec0::1", "64:ff9b:1::1",  # IPv6 not global, old site-local, local NAT64
    "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "::127.0.0.1", "::ffff:0:7f00:1",  # carrying one
])
def test_addresses_webhooks_may_not_reach(address: str) -> None:
    assert webhook_http.not_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::"])
def test_global_addresses_webhooks_may_reach(address: str) -> None:
    assert not webhook_http.not_public(address)


@contextmanager
def _listener(answer: bytes | None) -> Iterator[int]:
    """A loopback server that answers ``answer`` to one request, or (None) trickles one byte
    of a status line every 0.2 s for up to 30 s, never finishing it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    done = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            if answer is not None:
                conn.sendall(answer)
                return
            for _ in range(150):
                if done.wait(0.2):
                    return
                try:
                    conn.sendall(b"H")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        done.set()
        server.close()
        thread.join(timeout=35)


def test_a_receiver_trickling_its_answer_is_cut_at_the_deadline() -> None:
    """The socket timeout bounds each read: a byte every 0.2 s would hold the worker for good."""
    with _listener(None) as port:
        outcome: list[BaseException | int] = []

        def deliver() -> None:
            try:
                outcome.append(webhook_http.post(f"http://hook.test:{port}/in", b"{}", {}, allow_private=True,
                                                 resolve=lambda host: ["127.0.0.1"], timeout=1.0))
            except BaseException as exc:  # noqa: BLE001 - the outcome is what is checked
                outcome.append(exc)

        worker = threading.Thread(target=deliver)
        worker.start()
        worker.join(timeout=15)
        assert not worker.is_alive(), "the delivery was still waiting 15 s into a 1 s deadline"
    assert isinstance(outcome[0], (OSError, webhook_http.http.client.HTTPException)), outcome


def test_every_checked_address_is_tried_in_turn() -> None:
    with _listener(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n") as port:
        # 127.0.0.2 refuses: the listener is on 127.0.0.1 only
        status = webhook_http.post(f"http://hook.test:{port}/in", b"{}", {}, allow_private=True,
                                   resolve=lambda host: ["127.0.0.2", "127.0.0.1"], timeout=5.0)
    assert status == 204


def test_the_proxy_is_the_environments_for_the_scheme_unless_no_proxy_exempts_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    assert webhook_http.proxy_for("https", "hook.example.com") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://relay%40corp:p%3Ass@proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", ".internal.corp,hook.example.org")
    proxy = webhook_http.proxy_for("https", "hook.example.com")
    assert proxy is not None and (proxy.host, proxy.port) == ("proxy.corp", 3128)
    assert proxy.authorization == "Basic " + base64.b64encode(b"relay@corp:p:ss").decode()
    assert "p:ss" not in str(proxy) and "relay" not in str(proxy)
    assert webhook_http.proxy_for("http", "hook.example.com") is None  # HTTP_PROXY is not set
    assert webhook_http.proxy_for("https", "a.internal.corp") is None
    assert webhook_http.proxy_for("https", "hook.example.org") is None
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.corp:3129")
    with pytest.raises(OSError, match="must be an http:// URL"):
        webhook_http.proxy_for("https", "hook.example.com")
