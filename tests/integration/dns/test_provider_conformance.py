"""The DNS-01 provider contract, run against every provider: manual, and CIS through the CIS
fixture server (whose TXT records pebble-challtestsrv answers, as Pebble sees them).

For manual DNS the test plays the user: it publishes what the provider shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from dns_providers.base import DnsProvider
from dns_providers.cis import CisProvider
from dns_providers.errors import PropagationTimeout
from dns_providers.manual import ManualProvider
from dns_providers.propagation import PropagationChecker
from fixtures.cis_server import CisServer
from fixtures.clock import FakeTimer
from fixtures.pebble import Pebble

TIMEOUT_S = 30.0  # on a FakeTimer: a missing value fails at once, in fake seconds


@dataclass
class Harness:
    provider: DnsProvider
    pebble: Pebble
    timer: FakeTimer
    user_publishes: Callable[[], None] = lambda: None  # manual DNS: the user's part
    add_foreign: Callable[[str, str], None] = lambda name, value: None  # a TXT someone else made
    names: set[str] = field(default_factory=set)

    def visible(self, name: str) -> set[str]:
        """What DNS answers at name, after the user (for manual DNS) did their part."""
        self.user_publishes()
        return self.pebble.txt_values(name)


def _manual(pebble: Pebble, timer: FakeTimer) -> Harness:
    provider = ManualProvider()
    foreign: dict[str, set[str]] = {}
    harness = Harness(provider, pebble, timer)

    def publish() -> None:
        shown = {(r.name, r.value) for r in provider.challenges}
        for name in harness.names | {n for n, _ in shown}:
            pebble.clear_txt(name)
            for value in foreign.get(name, set()) | {v for n, v in shown if n == name}:
                pebble.set_txt(name, value)

    def add_foreign(name: str, value: str) -> None:
        foreign.setdefault(name, set()).add(value)
        harness.names.add(name)

    harness.user_publishes, harness.add_foreign = publish, add_foreign
    return harness


def _cis(pebble: Pebble, server: CisServer, timer: FakeTimer) -> Harness:
    from ibm_cloud_sdk_core.authenticators import BearerTokenAuthenticator

    checker = PropagationChecker([pebble.dns_resolver], timeout=TIMEOUT_S, interval=1.0,
                                 sleep=timer.sleep, clock=timer.clock)
    provider = CisProvider(server.crn, BearerTokenAuthenticator(server.token), service_url=server.url, checker=checker)
    harness = Harness(provider, pebble, timer)
    harness.add_foreign = lambda name, value: server.state.add_record("example.test", "TXT", name, value)
    return harness


@pytest.fixture(params=["manual", "cis"])
def harness(request: pytest.FixtureRequest, pebble: Pebble, cis_server: CisServer) -> Iterator[Harness]:
    timer = FakeTimer()
    made = _manual(pebble, timer) if request.param == "manual" else _cis(pebble, cis_server, timer)
    yield made
    for name in made.names:
        pebble.clear_txt(name)


@pytest.fixture
def name(harness: Harness, unique_domain: str) -> str:
    record = f"_acme-challenge.{unique_domain}"
    harness.names.add(record)
    return record


def test_present_makes_the_value_visible_and_check_passes(harness: Harness, name: str) -> None:
    harness.provider.present(name, "value-1")
    assert harness.visible(name) == {"value-1"}
    harness.provider.check(name, "value-1")


def test_wildcard_and_apex_values_coexist_at_one_name(harness: Harness, name: str) -> None:
    harness.provider.present(name, "apex-value")
    harness.provider.present(name, "wildcard-value")
    assert harness.visible(name) == {"apex-value", "wildcard-value"}
    harness.provider.check(name, "apex-value")
    harness.provider.check(name, "wildcard-value")


def test_cleanup_removes_only_its_own_value(harness: Harness, name: str) -> None:
    harness.add_foreign(name, "someone-elses")
    harness.provider.present(name, "apex-value")
    harness.provider.present(name, "wildcard-value")
    harness.provider.cleanup(name, "apex-value")
    assert harness.visible(name) == {"someone-elses", "wildcard-value"}


def test_cleanup_is_idempotent(harness: Harness, name: str) -> None:
    harness.provider.present(name, "value-1")
    harness.provider.cleanup(name, "value-1")
    harness.provider.cleanup(name, "value-1")
    harness.provider.cleanup(name, "never-presented")
    assert harness.visible(name) == set()


def test_presenting_twice_leaves_nothing_after_one_cleanup(harness: Harness, name: str) -> None:
    harness.provider.present(name, "value-1")
    harness.provider.present(name, "value-1")
    harness.provider.cleanup(name, "value-1")
    assert harness.visible(name) == set()


def test_names_are_case_and_trailing_dot_insensitive(harness: Harness, name: str) -> None:
    harness.provider.present(name.upper() + ".", "value-1")
    assert harness.visible(name) == {"value-1"}
    harness.provider.cleanup(name, "value-1")
    assert harness.visible(name) == set()


def test_check_of_a_missing_value_times_out_or_is_left_to_the_user(harness: Harness, name: str) -> None:
    if not harness.provider.self_check:
        harness.provider.check(name, "not-published")  # manual DNS: the user says when records are in place
        assert harness.timer.sleeps == []
        return
    with pytest.raises(PropagationTimeout) as caught:
        harness.provider.check(name, "not-published")
    assert caught.value.code == "dns_propagation_timeout"
    assert caught.value.name == name
    assert harness.timer.now == pytest.approx(TIMEOUT_S)  # bounded, and on the fake clock only


def test_every_provider_implements_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.provider, DnsProvider)
