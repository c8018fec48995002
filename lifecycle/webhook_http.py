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
import threading
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

Resolver = Callable[[str], list[str]]


class Refused(Exception):
    """The host resolves to an address webhooks may not reach."""


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 in the last 32 bits (RFC 6052)
_EMBEDDING = (ipaddress.ip_network("::/96"), ipaddress.ip_network("::ffff:0:0:0/96"), _NAT64)  # deprecated compatible, SIIT
_REFUSED_V6 = (ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("fec0::/10"))  # local NAT64, old site-local


def not_public(address: str) -> bool:
    """Private, loopback, link-local, shared (100.64.0.0/10), reserved, multicast or
    unspecified: anything but a global unicast address, also when an IPv6 address carries an
    IPv4 one that is not (mapped, 6to4, Teredo, NAT64: each reaches that IPv4 address)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global or ip.is_multicast:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED_V6):
            return True
        carried = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        carried += [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) for net in _EMBEDDING if ip in net]
        return any(v4 is not None and not_public(str(v4)) for v4 in carried)
    return False


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
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    failure: OSError | http.client.HTTPException = OSError(f"{host}: no address answered")
    for address in dict.fromkeys(addresses):  # each checked address in turn, as a client would
        conn: http.client.HTTPConnection = (_PinnedHTTPS(host, port, address, timeout) if https
                                            else _PinnedHTTP(host, port, address, timeout))
        deadline = threading.Timer(timeout, _cut, args=(conn,))  # the socket timeout bounds each read only
        deadline.start()
        try:
            conn.request("POST", target, body=body, headers=dict(headers))
            return conn.getresponse().status
        except (OSError, http.client.HTTPException) as exc:
            if conn.sock is not None or isinstance(exc, http.client.HTTPException):
                raise  # it connected: this address answered, or stopped answering
            failure = exc
        finally:
            deadline.cancel()
            conn.close()
    raise failure


def _cut(conn: http.client.HTTPConnection) -> None:
    """End a delivery past its deadline (a receiver trickling its answer a byte at a time)."""
    if conn.sock is not None:
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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
