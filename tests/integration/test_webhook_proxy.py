"""Webhook deliveries behind a forward proxy (Debian's tinyproxy, as an egress proxy would be):
the address is still checked here, the proxy is asked for that address, TLS is verified end to
end for the host name, NO_PROXY is honoured, proxy credentials come from the proxy URL."""

from __future__ import annotations

import datetime
import http.server
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fixtures.tinyproxy import TinyProxy, tinyproxy
from lifecycle import webhook_http

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


def self_signed(tmp: Path, name: str) -> tuple[ssl.SSLContext, Path]:
    """A server context with a self-signed certificate for ``name``, and that certificate's file (the trust anchor)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


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
    from fixtures.live_server import free_port

    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with receiver() as (port, seen), pytest.raises(OSError, match=r"proxy 127\.0\.0\.1:\d+ unreachable"):
        deliver(f"http://hook.test:{port}/in")
    assert seen == []  # never straight to the receiver instead
