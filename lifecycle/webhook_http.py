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
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
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


class ProxyError(OSError):
    """The proxy would not reach the receiver for us: unreachable, refusing, misconfigured. Its
    message names the proxy by host and port, never its credentials."""

    def __init__(self, message: str, *, upstream: bool = False) -> None:
        super().__init__(message)
        self.upstream = upstream  # the proxy could not reach this address (502-504): another may do


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int
    # a Proxy-Authorization value, from the proxy URL's user and password: never in a repr
    authorization: str | None = field(repr=False)

    def __str__(self) -> str:
        return f"proxy {self.host}:{self.port}"


def proxy_for(scheme: str, host: str, port: int) -> Proxy | None:
    """The forward proxy the environment names for ``scheme`` (`HTTPS_PROXY`, `HTTP_PROXY`, else
    `ALL_PROXY`), unless `NO_PROXY` exempts ``host`` (see `exempt`). Only http:// proxies."""
    proxies = urllib.request.getproxies_environment()
    url = proxies.get(scheme) or proxies.get("all")
    if not url or exempt(host, port, proxies.get("no", "")):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise ProxyError(f"the {scheme} proxy must be an http:// URL with a host (TLS to the proxy is not supported)")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode()
    return Proxy(parts.hostname, parts.port or 80, authorization)


def exempt(host: str, port: int, no_proxy: str) -> bool:
    """Whether `NO_PROXY` (comma-separated) exempts ``host``: `*`; a name, which covers its
    subdomains too (with or without a leading dot, on a dot boundary); `name:port`; an IP
    address or CIDR range for a receiver named by its address. Matched against the URL's host,
    not the addresses it resolves to."""
    host = host.lower().rstrip(".")
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*":
            return True
        if not entry:
            continue
        if ip is not None:
            try:
                if ip in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
        name, sep, entry_port = entry.rpartition(":")
        if sep and entry_port.isdigit() and (":" not in name or name.startswith("[")):
            if int(entry_port) != port:
                continue
            entry = name.strip("[]")
        entry = entry.lstrip("*").lstrip(".").rstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def post(url: str, body: bytes, headers: Mapping[str, str], *, allow_private: bool, resolve: Resolver,
         timeout: float) -> int:
    """POST ``body`` to ``url``; the answer's status, within ``timeout`` seconds in all (through
    the proxy's CONNECT, the TLS handshake and every address tried). Raises Refused, ProxyError,
    or OSError / http.client.HTTPException when there is no answer."""
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
    proxy = proxy_for(parts.scheme, host, port)
    end = time.monotonic() + timeout
    current: list[_PinnedHTTP] = []
    deadline = threading.Timer(timeout, lambda: current and current[-1].cut())
    deadline.start()
    failure: OSError | http.client.HTTPException = OSError(f"{host}: no address answered")
    try:
        for address in dict.fromkeys(addresses):  # each checked address in turn, as a client would
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{host}: no answer within {timeout:g} s")
            conn = (_PinnedHTTPS if https else _PinnedHTTP)(host, port, address, remaining, proxy)
            current.append(conn)
            try:
                conn.request("POST", target, body=body, headers=dict(headers))
                return conn.getresponse().status
            except ProxyError as exc:
                if not exc.upstream:
                    raise  # about the proxy, not this address: the next would meet the same
                failure = exc
            except (OSError, http.client.HTTPException) as exc:
                if conn.sock is not None or isinstance(exc, http.client.HTTPException):
                    raise  # it connected: this address answered, or stopped answering
                failure = exc
            finally:
                conn.close()
    finally:
        deadline.cancel()
    raise failure


def _tunnel(sock: socket.socket, proxy: Proxy, address: str, port: int) -> None:
    """Ask the proxy, on ``sock``, for a tunnel to ``address``; raises ProxyError when it will not."""
    authority = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    extra = f"Proxy-Authorization: {proxy.authorization}\r\n" if proxy.authorization else ""
    sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{extra}\r\n".encode())
    while True:
        status = _answer_status(sock, proxy)
        if not 100 <= status < 200:  # 1xx: an interim answer, the final one follows
            break
    if not 200 <= status < 300:
        raise ProxyError(f"{proxy} answered {status} to CONNECT {authority}", upstream=status in (502, 503, 504))


def _answer_status(sock: socket.socket, proxy: Proxy, limit: int = 16384) -> int:
    """The status of the proxy's answer, read up to the end of its header and no further (the
    TLS handshake or the request that follows is ours to begin)."""
    head = b""
    while not (head.endswith(b"\n\r\n") or head.endswith(b"\n\n")):
        byte = sock.recv(1)
        if not byte:
            raise ProxyError(f"{proxy} closed the connection during CONNECT")
        head += byte
        if len(head) > limit:
            raise ProxyError(f"{proxy} answered CONNECT with a header of over {limit} bytes")
    line = head.split(b"\n", 1)[0].split()
    if len(line) < 2 or not line[0].startswith(b"HTTP/") or not line[1].isdigit():
        raise ProxyError(f"{proxy} answered CONNECT with something other than HTTP")
    return int(line[1])


class _PinnedHTTP(http.client.HTTPConnection):
    """A connection to one checked address (straight, or through the proxy's tunnel), whatever
    the URL's host resolves to; ``cut`` ends it at any stage (connecting, CONNECT, handshake,
    answer) when the delivery's deadline passes."""

    def __init__(self, host: str, port: int, address: str, timeout: float, proxy: Proxy | None, **kw: Any) -> None:
        super().__init__(host, port, timeout=timeout, **kw)
        self._address = address
        self._proxy = proxy
        self._live: list[socket.socket] = []  # what cut() shuts down, before it becomes self.sock too

    def _open(self) -> socket.socket:
        where = (self._address, self.port) if self._proxy is None else (self._proxy.host, self._proxy.port)
        try:
            sock = socket.create_connection(where, self.timeout)
        except OSError as exc:
            if self._proxy is None:
                raise
            raise ProxyError(f"{self._proxy} unreachable: {exc}") from None
        self._live.append(sock)
        if self._proxy is not None:
            try:
                _tunnel(sock, self._proxy, self._address, self.port)
            except BaseException:
                sock.close()
                raise
        return sock

    def connect(self) -> None:
        self.sock = self._open()

    def cut(self) -> None:
        for sock in (*self._live, self.sock):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _PinnedHTTPS(_PinnedHTTP, http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, proxy: Proxy | None) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, address, timeout, proxy, context=self._tls)

    def connect(self) -> None:
        sock = self._open()
        try:
            tls = self._tls.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        except BaseException:
            sock.close()
            raise
        self._live.append(tls)  # the plain socket is detached from here on: cut() needs this one
        try:
            tls.do_handshake()
        except BaseException:
            tls.close()
            raise
        self.sock = tls
