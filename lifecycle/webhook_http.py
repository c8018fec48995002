"""Sending one webhook delivery: a POST to an address checked when it goes out, and never a
redirect.

The URL's host is resolved when the delivery is sent and every address is checked again (a
name that resolved to a public address at registration may resolve to a private one now),
and the connection goes to the address checked, not to one the HTTP client would look up
again; TLS still verifies the certificate for the host name. A 3xx answer is an answer: its
Location is never followed (it could point anywhere, internal services included).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

Resolver = Callable[[str], list[str]]


class Refused(Exception):
    """The host resolves to an address webhooks may not reach."""


def not_public(address: str) -> bool:
    """Private, loopback, link-local, shared (100.64.0.0/10), reserved, multicast or
    unspecified: anything but a global unicast address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    return not ip.is_global or ip.is_multicast


def first_refused(addresses: list[str]) -> str | None:
    return next((a for a in addresses if not_public(a)), None)


def post(url: str, body: bytes, headers: Mapping[str, str], *, allow_private: bool, resolve: Resolver,
         timeout: float) -> int:
    """POST ``body`` to ``url``; the answer's status. Raises Refused, or OSError /
    http.client.HTTPException when there is no answer."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    addresses = resolve(host)
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private and (refused := first_refused(addresses)) is not None:
        raise Refused(f"{host} resolves to {refused}, a private or loopback address")
    port = parts.port or (443 if https else 80)
    conn: http.client.HTTPConnection = (_PinnedHTTPS(host, port, addresses[0], timeout) if https
                                        else _PinnedHTTP(host, port, addresses[0], timeout))
    try:
        conn.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                     headers=dict(headers))
        return conn.getresponse().status
    finally:
        conn.close()


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
