"""The CIS provider through the official SDK against the CIS fixture server: zones, auth, errors."""

from __future__ import annotations

import pytest
from ibm_cloud_sdk_core.authenticators import BearerTokenAuthenticator, IAMAuthenticator

from dns_providers.cis import CisProvider
from dns_providers.errors import DnsAuthenticationError, DnsConfigurationError, ZoneNotFound
from fixtures.cis_server import CisServer, run_cis_server


def _provider(server: CisServer, token: str | None = None) -> CisProvider:
    return CisProvider(server.crn, BearerTokenAuthenticator(token or server.token), service_url=server.url)


def test_record_goes_to_the_zone_with_the_longest_matching_suffix(cis_server: CisServer) -> None:
    provider = _provider(cis_server)
    provider.present("_acme-challenge.www.sub.example.test", "v")
    provider.present("_acme-challenge.subexample.test.example.test", "w")
    zones = {r["name"]: r["zone_name"] for r in cis_server.state.records.values()}
    assert zones == {"_acme-challenge.www.sub.example.test": "sub.example.test",
                     "_acme-challenge.subexample.test.example.test": "example.test"}


def test_a_name_outside_every_zone_is_zone_not_found(cis_server: CisServer) -> None:
    with pytest.raises(ZoneNotFound) as caught:
        _provider(cis_server).present("_acme-challenge.example.org", "v")
    assert caught.value.code == "dns_zone_not_found"
    assert caught.value.name == "_acme-challenge.example.org"


def test_refused_credentials_are_an_auth_error_without_the_token(cis_server: CisServer) -> None:
    with pytest.raises(DnsAuthenticationError) as caught:
        _provider(cis_server, token="wrong-token-value").present("_acme-challenge.example.test", "v")
    assert caught.value.code == "dns_provider_auth_failed"
    assert "wrong-token-value" not in str(caught.value)


def test_the_sdk_sends_the_crn_as_one_encoded_path_segment(cis_server: CisServer) -> None:
    _provider(cis_server).present("_acme-challenge.example.test", "v")
    assert cis_server.state.requests[0] == ("GET", f"/v1/{cis_server.crn}/zones")


def test_zones_are_followed_across_pages() -> None:
    zones = [f"z{i:03}.test" for i in range(250)]
    with run_cis_server(zones) as server:
        provider = _provider(server)
        assert provider.zone_for("_acme-challenge.www.z249.test")[1] == "z249.test"
        assert sum(1 for m, p in server.state.requests if p.endswith("/zones")) == 3


def test_production_uses_an_iam_api_key_that_never_shows() -> None:
    provider = CisProvider.from_apikey("crn:v1:bluemix:public:internet-svcs:global:a/1:2::", "secret-api-key",
                                       resolvers=["127.0.0.1:5353"])
    assert isinstance(provider._authenticator, IAMAuthenticator)
    assert provider.service_url == "https://api.cis.cloud.ibm.com"
    assert "secret-api-key" not in repr(provider)
    assert [str(r) for r in provider.checker.resolvers] == ["127.0.0.1:5353"]


@pytest.mark.parametrize(("crn", "apikey"), [("", "k"), ("not-a-crn", "k"), ("crn:v1:x", "")])
def test_missing_settings_are_refused_by_name(crn: str, apikey: str) -> None:
    with pytest.raises(DnsConfigurationError, match="cloud_internet_services_"):
        CisProvider.from_apikey(crn, apikey)


def test_a_zone_added_after_the_list_was_fetched_is_found(cis_server: CisServer) -> None:
    provider = _provider(cis_server)  # kept across orders, as the service keeps it
    provider.present("_acme-challenge.example.test", "v")
    cis_server.state.zones["zone-added-later"] = "later.test"
    provider.present("_acme-challenge.www.later.test", "w")
    assert cis_server.state.txt_values("_acme-challenge.www.later.test") == {"w"}
    lists = sum(1 for m, p in cis_server.state.requests if p.endswith("/zones"))
    provider.present("_acme-challenge.example.test", "x")
    assert sum(1 for m, p in cis_server.state.requests if p.endswith("/zones")) == lists  # a match needs no refetch
