"""Without Debian's pebble the ACME tests skip with the reason; CI (CERTKEEPER_TEST_REQUIRE_PEBBLE=1) fails them."""

from __future__ import annotations

import pytest

import fixtures.pebble
import fixtures.pebble_plugin


def test_missing_pebble_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fixtures.pebble, "PEBBLE", "/nonexistent/pebble")
    monkeypatch.setattr(fixtures.pebble_plugin, "REQUIRE_PEBBLE", False)
    with pytest.raises(pytest.skip.Exception, match="/nonexistent/pebble not installed.*pebble"):
        fixtures.pebble_plugin.pebble_or_skip()


def test_missing_pebble_fails_when_ci_requires_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fixtures.pebble, "CHALLTESTSRV", "/nonexistent/pebble-challtestsrv")
    monkeypatch.setattr(fixtures.pebble_plugin, "REQUIRE_PEBBLE", True)
    with pytest.raises(pytest.fail.Exception, match="CERTKEEPER_TEST_REQUIRE_PEBBLE=1"):
        fixtures.pebble_plugin.pebble_or_skip()
