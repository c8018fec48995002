"""Polling: a short growing interval, Retry-After honoured, a bounded wait; on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from acme_client.errors import AcmeOrderError
from acme_client.polling import Poller, parse_retry_after
from fixtures.clock import FakeTimer


def _poller(timer: FakeTimer, timeout: float = 60.0) -> Poller:
    return Poller(timeout=timeout, initial=0.1, factor=2.0, maximum=1.0, sleep=timer.sleep, clock=timer.clock)


def _responses(*items: tuple[str, float | None]):  # type: ignore[no-untyped-def]
    queue = list(items)
    return lambda: queue.pop(0) if len(queue) > 1 else queue[0]


def test_interval_grows_from_short_to_the_maximum() -> None:
    timer = FakeTimer()
    fetch = _responses(*[("pending", None)] * 6, ("valid", None))
    assert _poller(timer).until(fetch, lambda s: s == "valid", str) == "valid"
    assert timer.sleeps == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_a_done_resource_is_returned_without_sleeping() -> None:
    timer = FakeTimer()
    assert _poller(timer).until(lambda: ("valid", 30.0), lambda s: s == "valid", str) == "valid"
    assert timer.sleeps == []


def test_retry_after_replaces_the_interval() -> None:
    timer = FakeTimer()
    fetch = _responses(("processing", 3.0), ("processing", None), ("valid", None))
    _poller(timer).until(fetch, lambda s: s == "valid", str)
    assert timer.sleeps == [3.0, 0.2]


def test_timeout_raises_an_order_error_naming_what_was_awaited() -> None:
    timer = FakeTimer()
    with pytest.raises(AcmeOrderError) as caught:
        _poller(timer, timeout=2.0).until(lambda: ("pending", None), lambda s: s == "valid",
                                          lambda s: f"order still {s}")
    assert caught.value.error_code == "timeout"
    assert caught.value.error_message == "order still pending after 2s"
    assert caught.value.retryable
    assert timer.now == pytest.approx(2.0)


def test_a_long_retry_after_is_cut_to_the_deadline() -> None:
    timer = FakeTimer()
    with pytest.raises(AcmeOrderError):
        _poller(timer, timeout=5.0).until(lambda: ("processing", 3600.0), lambda s: s == "valid", str)
    assert timer.sleeps == [5.0]


@pytest.mark.parametrize(("header", "seconds"), [
    ("7", 7.0), ("0", 0.0), (None, None), ("", None), ("soon", None),
    ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0), ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),
])
def test_retry_after_takes_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=datetime(2026, 1, 1, 12, 0, tzinfo=UTC)) == seconds
