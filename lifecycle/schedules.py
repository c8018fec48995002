"""Rotation schedules: the contract's interval policies, and certkeeper's `rate()` /
six-field `cron()` expressions (UTC) with a random window. Pure functions; the caller
passes the clock's time and a random source.

cron fields: minute hour day-of-month month day-of-week year. Day-of-month or
day-of-week may be '?' (any); day-of-week counts 1-7 from Sunday (or SUN-SAT).
Supported per field: '*', numbers, names, 'a-b' ranges, 'a,b' lists and '/n' steps.
"""

from __future__ import annotations

import calendar
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from lifecycle.durations import parse_duration
from lifecycle.errors import InvalidInput

MIN_INTERVAL = timedelta(hours=4)  # rotations closer than this thrash dependants and CAs
MAX_INTERVAL = timedelta(days=1000)  # as AWS Secrets Manager's rate(); further apart is not a rotation policy
SAMPLE = 60  # occurrences checked for the minimum interval
SEARCH_DAYS = 366 * 8  # a cron that matches nothing in eight years matches nothing (a leap-day, say)
MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_RATE = re.compile(r"rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)")
_CRON = re.compile(r"cron\((.*)\)")


def _bad(message: str) -> InvalidInput:
    return InvalidInput(f"rotation.schedule: {message}", field="rotation.schedule")


@dataclass(frozen=True, slots=True)
class Rate:
    every: timedelta

    def next_after(self, after: datetime) -> datetime:
        return after + self.every


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: '?'
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday
    years: frozenset[int] | None  # None: any

    def next_after(self, after: datetime) -> datetime:
        start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(SEARCH_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        when = day.replace(hour=hour, minute=minute)
                        if when >= start:
                            return when
            day += timedelta(days=1)
        raise _bad("the expression matches no time in the next eight years")

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        if self.days is not None and day.day not in self.days:
            return False
        weekday = (day.weekday() + 1) % 7 + 1  # Python: Monday 0 -> cron: Sunday 1
        return self.weekdays is None or weekday in self.weekdays


def _field(text: str, name: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not (step_text.isascii() and step_text.isdigit()) or not step_text.strip("0"):
                raise _bad(f"{name}: '/{step_text[:40]}' is not a positive step")
            step = int(step_text) if len(step_text) <= 6 else high + 1  # a step past the range keeps its start
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if start > end:
                raise _bad(f"{name}: range '{part}' runs backwards")
        else:
            start = _value(part, name, low, high, names)
            end = high if step > 1 else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, name: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not (text.isascii() and text.isdigit()):
        raise _bad(f"{name}: '{text[:40]}' is not a number" + (" or a name" if names else "")
                   + (" ('L', 'W' and '#' are not supported)" if any(c in text for c in "LW#") else ""))
    value = int(text) if len(text) <= 6 else None  # longer is out of every field's range
    if value is None or not low <= value <= high:
        raise _bad(f"{name}: {text[:40]} is outside {low}-{high}")
    return value


def parse_schedule(text: str) -> Rate | Cron:
    """Raises InvalidInput saying what is wrong with the expression."""
    text = text.strip()
    if match := _RATE.fullmatch(text):
        digits, unit = match.group(1).lstrip("0") or "0", match.group(2)
        count = int(digits) if len(digits) <= 6 else 10**6  # more is over the maximum either way
        every = timedelta(hours=count) if unit.startswith("hour") else timedelta(days=count)
        if every < MIN_INTERVAL:
            raise _bad(f"'{text}' is more often than the minimum interval of 4 hours")
        if every > MAX_INTERVAL:
            raise _bad(f"'{text[:80]}' is longer than the maximum interval of {MAX_INTERVAL.days} days")
        return Rate(every)
    match = _CRON.fullmatch(text)
    if not match:
        raise _bad(f"'{text[:80]}' is neither rate(N hours|days) nor cron(min hour day month weekday year)")
    parts = match.group(1).split()
    if len(parts) != 6:
        raise _bad(f"cron takes six fields (minute hour day-of-month month day-of-week year), got {len(parts)}")
    minute, hour, dom, month, dow, year = parts
    if dom != "?" and dow not in ("?", "*"):
        raise _bad("give day-of-month or day-of-week, and '?' for the other")
    cron = Cron(
        minutes=_field(minute, "minute", 0, 59),
        hours=_field(hour, "hour", 0, 23),
        days=None if dom == "?" else _field(dom, "day-of-month", 1, 31),
        months=_field(month, "month", 1, 12, MONTHS),
        weekdays=None if dow in ("?", "*") else _field(dow, "day-of-week", 1, 7, DAYS),
        years=None if year in ("*", "?") else _field(year, "year", 1970, 2199),
    )
    _check_spacing(cron)
    return cron


def _check_spacing(cron: Cron) -> None:
    when = datetime(min(cron.years) if cron.years else 2030, 1, 1)
    times = []
    for _ in range(SAMPLE):
        try:
            when = cron.next_after(when)
        except InvalidInput:
            if times:  # a schedule limited to some years simply ends
                break
            raise
        times.append(when)
    gaps = [b - a for a, b in zip(times, times[1:])]
    if gaps and min(gaps) < MIN_INTERVAL:
        raise _bad(f"runs every {min(gaps)} at times, more often than the minimum interval of 4 hours")


def add_interval(start: datetime, interval: int, unit: str) -> datetime:
    if unit == "hour":
        return start + timedelta(hours=interval)
    if unit == "day":
        return start + timedelta(days=interval)
    month = start.month - 1 + interval
    year, month = start.year + month // 12, month % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def check_window(policy: dict[str, object]) -> timedelta | None:
    if policy.get("window") is None:
        return None
    return parse_duration(policy["window"], "rotation.window")


def next_rotation(policy: dict[str, object], last_rotation: datetime, now: datetime,
                  rng: random.Random | None = None) -> datetime | None:
    """When the next automatic rotation is due, or None when the policy rotates nothing.

    ``last_rotation`` is the time of the newest version (a manual rotation counts).
    """
    if policy.get("rotate_immediately"):
        return now
    if not policy.get("auto_rotate") and not policy.get("schedule"):
        return None
    if policy.get("schedule"):
        base = parse_schedule(str(policy["schedule"])).next_after(max(last_rotation, now))
    elif policy.get("interval"):
        base = add_interval(last_rotation, int(policy["interval"]), str(policy["unit"]))  # type: ignore[call-overload]
    else:
        return None
    window = check_window(policy)
    if window:
        base += timedelta(seconds=(rng or random).uniform(0, window.total_seconds()))
    return base
