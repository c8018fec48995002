"""Sending one webhook delivery: a POST to an address checked when it goes out, and never a
redirect.

The URL's host is resolved when the delivery is sent and every address is checked again (a
name that resolved to a public address at registration may resolve to a private one now),
and the connection goes to the address checked, not to one the HTTP client would look up
again; TLS still verifies the certificate for the host name. A 3xx answer is an answer: its
Location is never followed (it could point anywhere, internal services included).

Behind a forward proxy (`HTTPS_PROXY` / `HTTP_PROXY`, `NO_PROXY` honoured, as the ACME and
CIS clients do) the address is still checked here and the proxy is asked for a tunnel to that
address, `CONNECT <address>:<port>`, for https (TLS end to end, verified for the host name) and
for http alike: a request relayed by absolute URI would have to name the address, and proxies
put that in the Host header, which virtual hosts need to name the host.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

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


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int
    authorization: str | None  # a Proxy-Authorization value, from the proxy URL's user and password

    def __str__(self) -> str:  # never its credentials
        return f"proxy {self.host}:{self.port}"


def proxy_for(scheme: str, host: str) -> Proxy | None:
    """The forward proxy the environment names for ``scheme`` (`HTTPS_PROXY`, `HTTP_PROXY`),
    unless `NO_PROXY` exempts ``host``. Only http:// proxies (as ACME's and CIS's clients)."""
    proxies = urllib.request.getproxies_environment()
    url = proxies.get(scheme)
    if not url or urllib.request.proxy_bypass_environment(host, proxies):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise OSError(f"the {scheme} proxy must be an http:// URL with a host")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode()
    return Proxy(parts.hostname, parts.port or 80, authorization)


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
    proxy = proxy_for(parts.scheme, host)
    failure: OSError | http.client.HTTPException = OSError(f"{host}: no address answered")
    for address in dict.fromkeys(addresses):  # each checked address in turn, as a client would
        conn = _connection(host, port, address, https, proxy, timeout)
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


def _connection(host: str, port: int, address: str, https: bool, proxy: Proxy | None,
                timeout: float) -> http.client.HTTPConnection:
    if https:
        return _PinnedHTTPS(host, port, address, timeout, proxy)
    return _PinnedHTTP(host, port, address, timeout, proxy)


def _open(address: str, port: int, timeout: float, proxy: Proxy | None) -> socket.socket:
    """A connection to ``address``: straight, or through the proxy's tunnel."""
    if proxy is None:
        return socket.create_connection((address, port), timeout)
    try:
        sock = socket.create_connection((proxy.host, proxy.port), timeout)
    except OSError as exc:
        raise OSError(f"{proxy} unreachable: {exc}") from None
    try:
        authority = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        extra = f"Proxy-Authorization: {proxy.authorization}\r\n" if proxy.authorization else ""
        sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{extra}\r\n".encode())
        status = _connect_status(sock)
        if status != 200:
            raise OSError(f"{proxy} answered {status} to CONNECT {authority}")
        return sock
    except BaseException:
        sock.close()
        raise


def _cut(conn: http.client.HTTPConnection) -> None:
    """End a delivery past its deadline (a receiver trickling its answer a byte at a time)."""
    if conn.sock is not None:
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, proxy: Proxy | None) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._proxy = proxy

    def connect(self) -> None:
        self.sock = _open(self._address, self.port, self.timeout, self._proxy)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, proxy: Proxy | None) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address
        self._proxy = proxy

    def connect(self) -> None:
        sock = _open(self._address, self.port, self.timeout, self._proxy)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _connect_status(sock: socket.socket, limit: int = 16384) -> int:
    """The status of a proxy's answer to CONNECT, read up to the end of its header (nothing
    after it: the TLS handshake that follows is ours to begin)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise OSError("the proxy closed the connection during CONNECT")
        head += byte
        if len(head) > limit:
            raise OSError("the proxy's answer to CONNECT has no end of header")
    line = head.split(b"\r\n", 1)[0].split()
    if len(line) < 2 or not line[0].startswith(b"HTTP/") or not line[1].isdigit():
        raise OSError("the proxy's answer to CONNECT is not HTTP")
    return int(line[1])
