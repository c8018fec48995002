"""One webhook delivery: the addresses it may reach, every address tried, a bounded wait."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fixtures.tls_server import self_signed
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
    for var in ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    assert webhook_http.proxy_for("https", "hook.example.com", 443) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://relay%40corp:p%3Ass@proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", ".internal.corp,hook.example.org")
    proxy = webhook_http.proxy_for("https", "hook.example.com", 443)
    assert proxy is not None and (proxy.host, proxy.port) == ("proxy.corp", 3128)
    assert proxy.authorization == "Basic " + base64.b64encode(b"relay@corp:p:ss").decode()
    for shown in (str(proxy), repr(proxy)):
        assert "p:ss" not in shown and "relay" not in shown and proxy.authorization not in shown
    assert webhook_http.proxy_for("http", "hook.example.com", 80) is None  # HTTP_PROXY is not set
    assert webhook_http.proxy_for("https", "a.internal.corp", 443) is None
    assert webhook_http.proxy_for("https", "hook.example.org", 443) is None
    monkeypatch.setenv("ALL_PROXY", "http://fallback.corp:8080")  # as requests falls back to it
    assert webhook_http.proxy_for("http", "hook.example.com", 80) == webhook_http.Proxy("fallback.corp", 8080, None)
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.corp:3129")
    with pytest.raises(webhook_http.ProxyError, match="must be an http:// URL"):
        webhook_http.proxy_for("https", "hook.example.com", 443)


@pytest.mark.parametrize(("no_proxy", "host", "port", "exempt"), [
    ("*", "anything.example", 443, True),
    ("example.com", "example.com", 443, True),
    ("example.com", "hook.example.com", 443, True),
    (".example.com", "example.com", 443, True),
    ("*.example.com", "a.b.example.com", 443, True),
    ("example.com", "badexample.com", 443, False),  # a dot boundary, not a bare suffix
    ("10.0.0.0/8", "10.1.2.3", 8080, True),  # a CIDR range for a receiver named by its address
    ("10.0.0.0/8", "11.1.2.3", 8080, False),
    ("10.1.2.3", "10.1.2.3", 80, True),
    ("fd00::/8", "fd00::1", 443, True),
    ("hook.corp:8443", "hook.corp", 8443, True),  # name:port
    ("hook.corp:8443", "hook.corp", 443, False),
    ("[fd00::1]:8443", "fd00::1", 8443, True),
    (" , example.org ,", "example.org.", 443, True),
])
def test_no_proxy_entries(no_proxy: str, host: str, port: int, exempt: bool) -> None:
    assert webhook_http.exempt(host, port, no_proxy) is exempt


@pytest.mark.parametrize("answer", [
    b"HTTP/1.0 200 Connection established\n\n",  # bare LF, which RFC 9112 lets a recipient accept
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n",  # an interim answer first
    b"HTTP/1.1 200 OK\r\nVia: 1.1 proxy\r\n\r\nrest",  # what follows the header is not read
])
def test_a_proxys_answer_to_connect_opens_the_tunnel(answer: bytes) -> None:
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    theirs.sendall(answer)
    try:
        webhook_http._tunnel(ours, webhook_http.Proxy("proxy.test", 3128, None), "192.0.2.1", 443)
        if answer.endswith(b"rest"):
            assert ours.recv(16) == b"rest"
        request = theirs.recv(4096)
        assert request.startswith(b"CONNECT 192.0.2.1:443 HTTP/1.1\r\n")
    finally:
        ours.close()
        theirs.close()


def _fake_proxy(script: Callable[[socket.socket], None]) -> tuple[str, Callable[[], None]]:
    """A loopback 'proxy' that runs ``script`` on its first connection (misbehaving proxies
    that tinyproxy cannot play); returns its URL and a stop function."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                chunk = conn.recv(1)
                if not chunk:
                    return
                head += chunk
            try:
                script(conn)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def stop() -> None:
        server.close()
        thread.join(timeout=35)

    return f"http://127.0.0.1:{server.getsockname()[1]}", stop


def _delivered_within(url: str, timeout: float, bound: float) -> BaseException | int:
    outcome: list[BaseException | int] = []

    def deliver() -> None:
        try:
            outcome.append(webhook_http.post(url, b"{}", {}, allow_private=True,
                                             resolve=lambda host: ["127.0.0.1"], timeout=timeout))
        except BaseException as exc:  # noqa: BLE001 - the outcome is what is checked
            outcome.append(exc)

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    worker.join(timeout=bound)
    assert not worker.is_alive(), f"the delivery was still waiting {bound} s into a {timeout} s deadline"
    return outcome[0]


def _through_fake_proxy(monkeypatch: pytest.MonkeyPatch, url: str,
                        script: Callable[[socket.socket, threading.Event], None]) -> BaseException | int:
    """A delivery of ``url`` through a fake proxy running ``script`` (told to stop by the event),
    with a 1 s deadline; fails unless it ends within 15 s."""
    stopping = threading.Event()
    proxy, stop = _fake_proxy(lambda conn: script(conn, stopping))
    monkeypatch.setenv("HTTPS_PROXY" if url.startswith("https") else "HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    try:
        return _delivered_within(url, timeout=1.0, bound=15)
    finally:
        stopping.set()
        stop()


def test_a_proxy_trickling_its_answer_to_connect_is_cut_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    def trickle(conn: socket.socket, stopping: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 Connection established\r\nX-Slow: ")
        while not stopping.wait(0.2):
            conn.sendall(b"x")

    outcome = _through_fake_proxy(monkeypatch, "http://hook.test:8080/in", trickle)
    assert isinstance(outcome, OSError), outcome


def test_the_deadline_covers_connect_handshake_and_answer_in_all(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """Each wait is under the timeout (CONNECT answered after 0.6 s, the handshake begun 0.6 s
    later, then an answer trickled): the delivery must still end at its deadline."""
    server_tls, anchor = self_signed(tmp_path, "hook.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(anchor))

    def slow(conn: socket.socket, stopping: threading.Event) -> None:
        stopping.wait(0.6)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        stopping.wait(0.6)
        with server_tls.wrap_socket(conn, server_side=True) as tls:
            tls.recv(65536)
            while not stopping.wait(0.2):
                tls.sendall(b"H")

    outcome = _through_fake_proxy(monkeypatch, "https://hook.test/in", slow)
    assert isinstance(outcome, OSError), outcome
