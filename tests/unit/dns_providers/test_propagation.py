"""The propagation check's waiting rules, on injected queries and a fake clock (nothing waits)."""

from __future__ import annotations

import pytest

from dns_providers.errors import DnsConfigurationError, PropagationTimeout
from dns_providers.propagation import Nameserver, PropagationChecker, parse_resolver
from fixtures.clock import FakeTimer

NAME = "_acme-challenge.example.com"


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:5353", Nameserver("127.0.0.1", 5353)),
    ("10.0.0.1", Nameserver("10.0.0.1", 53)),
    ("[::1]:5300", Nameserver("::1", 5300)),
    ("::1", Nameserver("::1", 53)),
])
def test_resolvers_take_an_address_and_an_optional_port(text: str, expected: Nameserver) -> None:
    assert parse_resolver(text) == expected


@pytest.mark.parametrize("text", ["ns1.example.com", "127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:dns", "[::1]:x", ""])
def test_resolvers_that_are_not_addresses_are_refused_by_name(text: str) -> None:
    with pytest.raises(DnsConfigurationError, match="resolvers"):
        parse_resolver(text)


def _checker(answers: dict[str, list[set[str]]], timer: FakeTimer, timeout: float = 10.0) -> PropagationChecker:
    """Each resolver answers the next set of its list per query (the last one repeats)."""

    def query(server: Nameserver, name: str) -> set[str]:
        assert name == NAME
        sequence = answers[str(server)]
        return sequence.pop(0) if len(sequence) > 1 else sequence[0]

    return PropagationChecker(list(answers), timeout=timeout, interval=2.0, query=query,
                              sleep=timer.sleep, clock=timer.clock)


def test_wait_returns_as_soon_as_every_resolver_answers_the_value() -> None:
    timer = FakeTimer()
    checker = _checker({"127.0.0.1:53": [set(), set(), {"v"}], "127.0.0.2:53": [{"v"}]}, timer)
    checker.wait(NAME, "v")
    assert timer.sleeps == [2.0, 2.0]


def test_one_resolver_without_the_value_keeps_waiting_until_the_timeout() -> None:
    timer = FakeTimer()
    checker = _checker({"127.0.0.1:53": [{"v"}], "127.0.0.2:5353": [{"other"}]}, timer, timeout=5.0)
    with pytest.raises(PropagationTimeout) as caught:
        checker.wait(NAME, "v")
    assert caught.value.missing_at == ("127.0.0.2:5353",)
    assert "127.0.0.2:5353" in caught.value.message and NAME in caught.value.message
    assert timer.now == 5.0  # the last sleep is cut to the deadline
    assert timer.sleeps == [2.0, 2.0, 1.0]


def test_a_zero_timeout_checks_once() -> None:
    timer = FakeTimer()
    with pytest.raises(PropagationTimeout):
        _checker({"127.0.0.1:53": [set()]}, timer, timeout=0).wait(NAME, "v")
    assert timer.sleeps == []


def test_the_value_must_match_exactly_among_several_values() -> None:
    timer = FakeTimer()
    _checker({"127.0.0.1:53": [{"apex", "wildcard"}]}, timer).wait(NAME + ".", "wildcard")
    assert timer.sleeps == []


def test_bad_timing_settings_are_refused() -> None:
    with pytest.raises(DnsConfigurationError):
        PropagationChecker(["127.0.0.1"], interval=0)
