"""IBM Cloud Internet Services (CIS) DNS-01 provider on the `ibm-cloud-networking-services` SDK.

Finds the zone by the longest suffix match over the instance's zones (the API has no name
filter; the list is kept, and fetched again when a name matches no zone), writes one TXT
record per value with DnsRecordsV1, and deletes by name + value so cleanup needs no memory of what was written (an order resumed elsewhere can clean up). Takes
an IAMAuthenticator in production (`from_apikey`) and any authenticator (a bearer token in
tests); the service URL is configurable so tests point it at a local server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import requests
from ibm_cloud_networking_services import DnsRecordsV1, ZonesV1
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import Authenticator, IAMAuthenticator

from dns_providers.base import record_name
from dns_providers.errors import DnsApiError, DnsAuthenticationError, DnsConfigurationError, ZoneNotFound
from dns_providers.propagation import DEFAULT_TIMEOUT_S, PropagationChecker

DEFAULT_SERVICE_URL = "https://api.cis.cloud.ibm.com"
# Short-lived challenge records: 120 s is the lowest TTL CIS takes on every plan, so a wrong
# value a resolver cached goes away quickly.
TXT_TTL_S = 120
PER_PAGE = 100  # records and zones per list call; pages are followed until total_count


class CisProvider:
    """DNS-01 on one CIS instance (CRN); thread-safe."""

    self_check = True

    def __init__(self, crn: str, authenticator: Authenticator, *, service_url: str = DEFAULT_SERVICE_URL,
                 checker: PropagationChecker | None = None, ttl: int = TXT_TTL_S) -> None:
        if not crn or not crn.startswith("crn:"):
            raise DnsConfigurationError("cloud_internet_services_crn: a CIS instance CRN ('crn:v1:...') is required")
        self.crn = crn
        self.service_url = service_url.rstrip("/")
        self.checker = checker or PropagationChecker()
        self.ttl = ttl
        self._authenticator = authenticator
        self._zones: list[tuple[str, str]] | None = None  # (zone id, zone name), fetched once
        self._record_clients: dict[str, DnsRecordsV1] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_apikey(cls, crn: str, apikey: str, *, service_url: str = DEFAULT_SERVICE_URL,
                    iam_url: str | None = None, resolvers: Sequence[str] | None = None,
                    propagation_timeout: float = DEFAULT_TIMEOUT_S) -> CisProvider:
        """Production: an IAM API key exchanged for tokens by the SDK."""
        if not apikey:
            raise DnsConfigurationError("cloud_internet_services_apikey: an IAM API key is required")
        authenticator = IAMAuthenticator(apikey, url=iam_url) if iam_url else IAMAuthenticator(apikey)
        return cls(crn, authenticator, service_url=service_url,
                   checker=PropagationChecker(resolvers, timeout=propagation_timeout))

    def __repr__(self) -> str:  # never the credentials
        return f"CisProvider(crn={self.crn!r}, service_url={self.service_url!r})"

    # -- the DnsProvider protocol -------------------------------------------------------------

    def present(self, name: str, value: str) -> None:
        """Add a TXT record for value at name unless one exists. Raises ZoneNotFound, DnsApiError."""
        name = record_name(name)
        records = self._records(name)
        if any(r.get("content") == value for r in self._txt(records, name)):
            return
        _call(lambda: records.create_dns_record(type="TXT", name=name, content=value, ttl=self.ttl), f"create TXT {name}")

    def check(self, name: str, value: str) -> None:
        """Wait (bounded) until the nameservers answer value. Raises PropagationTimeout."""
        self.checker.wait(name, value)

    def cleanup(self, name: str, value: str) -> None:
        """Delete the TXT records at name holding value, and nothing else; idempotent."""
        name = record_name(name)
        records = self._records(name)
        for record in self._txt(records, name):
            if record.get("content") == value:
                try:
                    _call(lambda: records.delete_dns_record(record["id"]), f"delete TXT {name}")
                except DnsApiError as exc:
                    if exc.status != 404:  # already gone: that is what cleanup wants
                        raise

    # -- zones and records --------------------------------------------------------------------

    def zone_for(self, name: str) -> tuple[str, str]:
        """(zone id, zone name) of the longest zone name that is name or a parent of it. Raises ZoneNotFound."""
        name = record_name(name)
        matches = self._matching(name, self._zone_list())
        if not matches:  # the list is kept per provider: a zone added since is looked for once more
            matches = self._matching(name, self._zone_list(refresh=True))
        if not matches:
            raise ZoneNotFound(f"{name}: no zone of CIS instance {self.crn} contains this name", name=name)
        return max(matches, key=lambda z: len(z[1]))

    @staticmethod
    def _matching(name: str, zones: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(zid, zname) for zid, zname in zones if name == zname or name.endswith("." + zname)]

    def _zone_list(self, *, refresh: bool = False) -> list[tuple[str, str]]:
        with self._lock:
            if self._zones is None or refresh:
                zones = ZonesV1(crn=self.crn, authenticator=self._authenticator)
                zones.set_service_url(self.service_url)
                self._zones = [(z["id"], str(z["name"]).rstrip(".").lower())
                               for z in _pages(lambda page: zones.list_zones(page=page, per_page=PER_PAGE), "list zones")]
            return self._zones

    def _records(self, name: str) -> DnsRecordsV1:
        zone_id, _ = self.zone_for(name)
        with self._lock:  # one client per zone: building one costs an SSL context (~75 ms)
            records = self._record_clients.get(zone_id)
            if records is None:
                records = DnsRecordsV1(crn=self.crn, zone_identifier=zone_id, authenticator=self._authenticator)
                records.set_service_url(self.service_url)
                self._record_clients[zone_id] = records
            return records

    @staticmethod
    def _txt(records: DnsRecordsV1, name: str) -> list[dict[str, Any]]:
        listed = _pages(lambda page: records.list_all_dns_records(type="TXT", name=name, page=page, per_page=PER_PAGE),
                        f"list TXT {name}")
        # Filter again: a filter the API ignored must not make cleanup delete someone else's record.
        return [r for r in listed if r.get("type") == "TXT" and str(r.get("name", "")).rstrip(".").lower() == name]


def _pages(fetch: Callable[[int], Any], what: str) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        body = _call(lambda: fetch(page), what).get_result() or {}
        items = body.get("result") or []
        yield from items
        info = body.get("result_info") or {}
        total, per_page = int(info.get("total_count", 0)), int(info.get("per_page") or PER_PAGE)
        if not items or page * per_page >= total:
            return
        page += 1


def _call(request: Callable[[], Any], what: str) -> Any:
    """Run one SDK call; SDK and transport failures become DnsProviderErrors (no credentials in messages)."""
    try:
        return request()
    except ApiException as exc:
        status = exc.status_code
        if status in (401, 403):
            raise DnsAuthenticationError(f"CIS refused the credentials ({status}) to {what}") from None
        raise DnsApiError(f"CIS answered {status} to {what}: {exc.message}", status=status) from None
    except requests.RequestException as exc:
        raise DnsApiError(f"CIS could not be reached to {what}: {exc.__class__.__name__}") from None
