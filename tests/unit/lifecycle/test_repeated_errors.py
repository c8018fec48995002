"""A worker polling a database that is down logs the outage, not every poll of it."""

from __future__ import annotations

import logging

import pytest

from lifecycle.workers import RepeatedErrors


def test_an_error_repeating_is_logged_when_it_begins_once_a_minute_and_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    errors = RepeatedErrors("worker w1", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="certkeeper.workers"):
        for _ in range(240):  # a minute of polls every 0.25 s
            errors.failed("database unreachable: OperationalError")
            now[0] += 0.25
        errors.failed("database unreachable: OperationalError")  # a minute on: one line, with the count
        now[0] += 0.25
        errors.failed("database unreachable: OperationalError")
        errors.succeeded()
        errors.succeeded()  # nothing to say: it was not failing
        errors.failed("database busy: no turn to write within 10 s")  # once, then fine: one line
        errors.succeeded()
    assert [r.getMessage() for r in caplog.records] == [
        "worker w1: database unreachable: OperationalError",
        "worker w1: database unreachable: OperationalError (again 240 times since the last line)",
        "worker w1: working again after 242 times in 60 s: database unreachable: OperationalError",
        "worker w1: database busy: no turn to write within 10 s",
    ]
