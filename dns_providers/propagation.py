"""The DNS-01 propagation check: ask nameservers directly whether a TXT value is visible.

By default the zone's authoritative nameservers are asked (found through the system
resolver), so a cached negative answer in a recursive resolver does not delay an order;
a configuration's `resolvers` (["127.0.0.1:5353", ...], for split-horizon DNS and tests)
replace them. The wait is bounded, and sleep and clock are injected so tests do not wait.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.resolver

from dns_providers.base import record_name
from dns_providers.errors import DnsConfigurationError, PropagationTimeout

# Providers with an anycast network (CIS) usually publish within seconds, sometimes a minute
# or two: two minutes bounds an order's wait without failing on a slow edge.
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_INTERVAL_S = 2.0
QUERY_TIMEOUT_S = 3.0
DNS_PORT = 53


@dataclass(frozen=True, slots=True)
class Nameserver:
    host: str  # an IP address: dnspython queries addresses, not names
    port: int = DNS_PORT

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_resolver(text: str) -> Nameserver:
    """'127.0.0.1:5353', '127.0.0.1', '[::1]:53' or '::1'. Raises DnsConfigurationError."""
    value = text.strip()
    host, port = value, DNS_PORT
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest.removeprefix(":")
        port = int(port_text) if port_text.isdigit() else -1
    elif value.count(":") == 1:
        host, port_text = value.split(":")
        port = int(port_text) if port_text.isdigit() else -1
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise DnsConfigurationError(f"resolvers: '{text}' is not an IP address with an optional port") from None
    if not 0 < port < 65536:
        raise DnsConfigurationError(f"resolvers: '{text}' has no valid port (1-65535)")
    return Nameserver(host, port)


def query_txt(server: Nameserver, name: str, timeout: float = QUERY_TIMEOUT_S) -> set[str]:
    """The TXT values server answers for name (no EDNS, UDP with TCP fallback); empty on any failure."""
    query = dns.message.make_query(dns.name.from_text(name), dns.rdatatype.TXT)
    try:
        response, _ = dns.query.udp_with_fallback(query, server.host, port=server.port, timeout=timeout)
    except (dns.exception.DNSException, OSError):
        return set()
    return {
        b"".join(rdata.strings).decode(errors="replace")
        for rrset in response.answer if rrset.rdtype == dns.rdatatype.TXT
        for rdata in rrset
    }


class PropagationChecker:
    """`wait(name, value)` polls every nameserver until all answer the value, or times out."""

    def __init__(
        self,
        resolvers: Sequence[str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        interval: float = DEFAULT_INTERVAL_S,
        query: Callable[[Nameserver, str], set[str]] = query_txt,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        system_resolver: dns.resolver.Resolver | None = None,
    ) -> None:
        if timeout < 0 or interval <= 0:
            raise DnsConfigurationError("propagation: timeout must be >= 0 and interval > 0 seconds")
        self.resolvers = tuple(parse_resolver(r) for r in resolvers or ())
        self.timeout = timeout
        self.interval = interval
        self._query = query
        self._sleep = sleep
        self._clock = clock
        self._system_resolver = system_resolver

    def nameservers(self, name: str) -> tuple[Nameserver, ...]:
        """The configured resolvers, else the authoritative nameservers of name's zone."""
        if self.resolvers:
            return self.resolvers
        return authoritative_nameservers(name, self._system_resolver or dns.resolver.get_default_resolver())

    def missing_at(self, name: str, value: str) -> tuple[Nameserver, ...]:
        """The nameservers that do not answer value at name right now."""
        return tuple(ns for ns in self.nameservers(name) if value not in self._query(ns, name))

    def wait(self, name: str, value: str) -> None:
        """Return once every nameserver answers value; raises PropagationTimeout after `timeout` seconds."""
        name = record_name(name)
        deadline = self._clock() + self.timeout
        while True:
            missing = self.missing_at(name, value)
            if not missing:
                return
            remaining = deadline - self._clock()
            if remaining <= 0:
                where = ", ".join(map(str, missing))
                raise PropagationTimeout(
                    f"TXT record {name}: the expected value was not visible at {where} within {self.timeout:g}s",
                    name=name, missing_at=tuple(map(str, missing)))
            self._sleep(min(self.interval, remaining))


def authoritative_nameservers(name: str, resolver: dns.resolver.Resolver) -> tuple[Nameserver, ...]:
    """Addresses of the NS records of the zone holding name. Raises DnsConfigurationError when none resolve."""
    try:
        zone = dns.resolver.zone_for_name(name, resolver=resolver)
        hosts = [str(rdata.target) for rdata in resolver.resolve(zone, "NS")]
    except dns.exception.DNSException as exc:
        raise DnsConfigurationError(f"{name}: cannot find the zone's nameservers ({exc.__class__.__name__}); "
                                    "set `resolvers` to ask specific nameservers") from None
    servers: list[Nameserver] = []
    for host in sorted(hosts):
        for rdtype in ("A", "AAAA"):
            try:
                servers.extend(Nameserver(str(r)) for r in resolver.resolve(host, rdtype))
            except dns.exception.DNSException:
                continue
    if not servers:
        raise DnsConfigurationError(f"{name}: none of the zone's nameservers ({', '.join(hosts)}) has an address")
    return tuple(servers)
