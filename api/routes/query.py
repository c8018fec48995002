"""Query-string parameters with clear 400s: integers, booleans, comma lists."""

from __future__ import annotations

import re

from starlette.requests import Request

from lifecycle.errors import InvalidInput

INT_RE = re.compile(r"-?[0-9]{1,9}")  # ASCII digits; nine of them keep every value inside a 32-bit column


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not INT_RE.fullmatch(raw):
        raise InvalidInput(f"{name}: '{raw[:40]}' is not an integer", field=name)
    return int(raw)


def bool_param(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise InvalidInput(f"{name}: '{raw[:40]}' is not true or false", field=name)


def list_param(request: Request, name: str) -> list[str] | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    return items or None
