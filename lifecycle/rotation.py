"""Rotation policies: validating the `rotation` field and computing `next_rotation_date`.

The contract's form is {auto_rotate, interval, unit} (public certificates:
{auto_rotate, rotate_keys}); certkeeper adds `schedule` (rate()/cron()), `window`,
`rotate_immediately` and, for public certificates, `renew_before`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lifecycle import schedules
from lifecycle.durations import parse_duration
from lifecycle.errors import InvalidInput

DEFAULT_ROTATION: dict[str, Any] = {"auto_rotate": False}
# Interval bounds per unit: at least four hours (a fleet of rotations must not thrash)
# and at most 24 months, as the contract bounds user credentials.
ROTATION_BOUNDS = {"hour": (4, 24 * 730), "day": (1, 730), "month": (1, 24)}
ROTATION_UNITS = tuple(ROTATION_BOUNDS)
DEFAULT_RENEW_BEFORE = timedelta(days=31)  # the contract renews public certificates 31 days before expiry
KNOWN = {"auto_rotate", "interval", "unit", "schedule", "window", "rotate_immediately", "rotate_keys", "renew_before"}


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"rotation.{field}: {message}", field=f"rotation.{field}")


def _flag(value: dict[str, Any], key: str) -> bool:
    flag = value.get(key, False)
    if flag is None:
        return False
    if not isinstance(flag, bool):
        raise _bad(key, "must be true or false")
    return flag


def rotation_policy(value: Any, *, interval_required: bool = True) -> dict[str, Any]:
    """Validate a policy; returns it normalised. Raises InvalidInput naming the field.

    ``interval_required`` is False for types that renew by expiry (public certificates).
    """
    if not isinstance(value, dict):
        raise InvalidInput("rotation: must be an object", field="rotation")
    unknown = sorted(set(value) - KNOWN)
    if unknown:
        raise _bad(unknown[0], "is not a rotation policy field")
    policy: dict[str, Any] = {"auto_rotate": _flag(value, "auto_rotate")}
    for key in ("rotate_immediately", "rotate_keys"):
        if value.get(key) is not None:
            policy[key] = _flag(value, key)
    interval, unit, schedule = value.get("interval"), value.get("unit"), value.get("schedule")
    if schedule is not None:
        if not isinstance(schedule, str):
            raise _bad("schedule", "must be a rate() or cron() expression")
        schedules.parse_schedule(schedule)
        policy["schedule"] = schedule.strip()
    if interval is not None or unit is not None or (policy["auto_rotate"] and schedule is None and interval_required):
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise _bad("interval", "must be a positive integer")
        if unit not in ROTATION_UNITS:
            raise _bad("unit", f"must be one of {', '.join(ROTATION_UNITS)}")
        low, high = ROTATION_BOUNDS[unit]
        if not low <= interval <= high:
            raise _bad("interval", f"must be from {low} to {high} when unit is {unit}")
        policy |= {"interval": interval, "unit": unit}
    if value.get("window") is not None:
        window = parse_duration(value["window"], "rotation.window")
        if window >= _period(policy):
            raise _bad("window", "must be shorter than the time between rotations")
        policy["window"] = value["window"]
    if value.get("renew_before") is not None:
        parse_duration(value["renew_before"], "rotation.renew_before")
        policy["renew_before"] = value["renew_before"]
    return policy


def _period(policy: dict[str, Any]) -> timedelta:
    if policy.get("schedule"):
        parsed = schedules.parse_schedule(policy["schedule"])
        if isinstance(parsed, schedules.Rate):
            return parsed.every
        return schedules.MIN_INTERVAL
    if policy.get("interval"):
        start = datetime(2030, 1, 1)
        return schedules.add_interval(start, policy["interval"], policy["unit"]) - start
    return timedelta(days=1)


def next_rotation_date(policy: dict[str, Any] | None, last_rotation: datetime, now: datetime) -> datetime | None:
    return schedules.next_rotation(policy or DEFAULT_ROTATION, last_rotation, now)


def after_rotation(policy: dict[str, Any]) -> dict[str, Any]:
    """`rotate_immediately` is one-shot: once a rotation happened, the policy drops it."""
    return {k: v for k, v in policy.items() if k != "rotate_immediately"}


def renewal_date(policy: dict[str, Any] | None, not_after: datetime, not_before: datetime | None = None) -> datetime | None:
    """When a certificate renewed before it expires (a public certificate's) is due:
    ``renew_before`` (default DEFAULT_RENEW_BEFORE) ahead of ``not_after``; None without
    auto_rotate. Never before a third of the certificate's life has passed: one that lives
    not much longer than renew_before (a CA issuing for days, renew_before 89d on 90-day
    certificates) would otherwise be renewed the moment it is issued, again and again, until
    the CA's rate limits stop it."""
    if not (policy or {}).get("auto_rotate"):
        return None
    due = not_after - (renew_before(policy or {}) or DEFAULT_RENEW_BEFORE)
    if not_before is not None:
        due = max(due, not_before + (not_after - not_before) / 3)
    return due


def renew_before(policy: dict[str, Any]) -> timedelta | None:
    """A public certificate's `renew_before` (certkeeper extension), or None for the default."""
    value = policy.get("renew_before")
    return parse_duration(value, "rotation.renew_before") if value is not None else None
