from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.errors import InvalidInput
from lifecycle.schedules import add_interval, next_rotation, parse_schedule

T = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(("expr", "expected"), [
    ("rate(12 hours)", T + timedelta(hours=12)),
    ("rate(7 days)", T + timedelta(days=7)),
    ("cron(0 10 * * ? *)", datetime(2026, 1, 3, 10, 0, tzinfo=UTC)),
    ("cron(30 2 ? * MON-FRI *)", datetime(2026, 1, 5, 2, 30, tzinfo=UTC)),
    ("cron(0 0 1 */3 ? *)", datetime(2026, 4, 1, 0, 0, tzinfo=UTC)),
    ("cron(15 6 ? * 1 2027)", datetime(2027, 1, 3, 6, 15, tzinfo=UTC)),  # 1 = Sunday
    ("cron(0 12 29 FEB ? *)", datetime(2028, 2, 29, 12, 0, tzinfo=UTC)),
])
def test_next_occurrence(expr: str, expected: datetime) -> None:
    assert parse_schedule(expr).next_after(T) == expected


@pytest.mark.parametrize(("expr", "message"), [
    ("rate(3 hours)", "minimum interval of 4 hours"),
    ("cron(0 */2 * * ? *)", "more often than the minimum interval"),
    ("cron(0 10 * *)", "six fields"),
    ("cron(0 24 * * ? *)", "hour: 24 is outside 0-23"),
    ("cron(0 10 L * ? *)", "'L', 'W' and '#' are not supported"),
    ("cron(0 10 5 * MON *)", "'?' for the other"),
    ("cron(0 10 31 FEB ? *)", "matches no time"),
    ("cron(0 10-2 * * ? *)", "runs backwards"),
    ("every tuesday", "neither rate"),
])
def test_bad_expressions_say_what_is_wrong(expr: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as exc:
        parse_schedule(expr)
    assert exc.value.field == "rotation.schedule"


def test_interval_policy_counts_from_the_last_rotation() -> None:
    policy = {"auto_rotate": True, "interval": 30, "unit": "day"}
    assert next_rotation(policy, T - timedelta(days=10), T) == T + timedelta(days=20)
    assert next_rotation({"auto_rotate": False}, T, T) is None


def test_months_add_by_calendar_and_clamp_to_month_end() -> None:
    assert add_interval(datetime(2026, 1, 31, tzinfo=UTC), 1, "month") == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_interval(datetime(2026, 11, 15, tzinfo=UTC), 3, "month") == datetime(2027, 2, 15, tzinfo=UTC)


def test_window_spreads_rotations_inside_it() -> None:
    policy = {"schedule": "cron(0 3 * * ? *)", "window": "2h"}
    base = datetime(2026, 1, 3, 3, 0, tzinfo=UTC)
    times = {next_rotation(policy, T, T, random.Random(seed)) for seed in range(50)}
    assert all(base <= t <= base + timedelta(hours=2) for t in times if t)
    assert len(times) > 40  # spread, not one instant


def test_rotate_immediately_is_due_now() -> None:
    assert next_rotation({"rotate_immediately": True, "auto_rotate": True, "interval": 1, "unit": "day"}, T, T) == T
