"""Durations as users write them: seconds as a number, or '90s', '15m', '72h', '365d'."""

from __future__ import annotations

import re
from datetime import timedelta

from lifecycle.errors import InvalidInput

_RE = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SECONDS = 100 * 365 * 86400  # no certificate or token outlives a century


def parse_duration(value: object, field: str) -> timedelta:
    """Raises InvalidInput naming ``field`` for anything but a positive duration."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInput(f"{field}: must be a duration such as 8760h, 30d or a number of seconds", field=field)
    match = _RE.match(str(value).strip())
    if not match:
        raise InvalidInput(f"{field}: '{str(value)[:40]}' is not a duration such as 8760h, 30d or 3600", field=field)
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= MAX_SECONDS:
        raise InvalidInput(f"{field}: must be more than 0 and at most 100 years", field=field)
    return timedelta(seconds=seconds)
