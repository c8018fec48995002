"""Input rules shared by every secret type: names, labels, descriptions, metadata sizes.

Each check raises InvalidInput (or PayloadTooLarge) naming the field and the rule.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lifecycle.errors import InvalidInput, PayloadTooLarge

NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254})[A-Za-z0-9]$")
GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})[A-Za-z0-9]$")
LOCK_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})[A-Za-z0-9]$")
MAX_LABELS = 30
LABEL_MIN, LABEL_MAX = 2, 64
DESCRIPTION_MAX = 1024
CUSTOM_METADATA_MAX_BYTES = 10 * 1024  # the v2 contract's limit per metadata object
CLIENT_REQUEST_TOKEN_RE = re.compile(r"^[A-Za-z0-9._~:-]{1,64}$")


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_name(name: str, field: str = "name") -> str:
    if not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"{field}: '{name[:300]}' must be 2-256 characters of letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
            field=field,
        )
    return name


def check_group_name(name: str) -> str:
    if not GROUP_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"name: '{name[:100]}' must be 2-64 characters of letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
            field="name",
        )
    return name


def check_lock_name(name: str) -> str:
    if not LOCK_NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"locks.name: '{name[:100]}' must be 2-64 characters of letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
            field="locks.name",
        )
    return name


def check_text(value: str, field: str) -> str:
    """Plain-text columns hold no NUL: PostgreSQL cannot store it, and it truncates in C tools."""
    if "\x00" in value:
        raise InvalidInput(f"{field}: must not contain a NUL character", field=field)
    return value


def check_description(description: str | None, field: str = "description") -> str | None:
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise InvalidInput(f"{field}: at most {DESCRIPTION_MAX} characters", field=field)
    return check_text(description, field) if description is not None else None


def check_labels(labels: list[str]) -> list[str]:
    if len(labels) > MAX_LABELS:
        raise InvalidInput(f"labels: at most {MAX_LABELS} labels, got {len(labels)}", field="labels")
    for label in labels:
        check_text(label, "labels")
        if not LABEL_MIN <= len(label) <= LABEL_MAX:
            raise InvalidInput(
                f"labels: '{label[:80]}' must be {LABEL_MIN}-{LABEL_MAX} characters", field="labels"
            )
    return list(dict.fromkeys(labels))


def check_metadata(value: dict[str, Any], field: str) -> dict[str, Any]:
    size = json_size(value)
    if size > CUSTOM_METADATA_MAX_BYTES:
        raise PayloadTooLarge(
            f"{field}: {size} bytes is over the limit of {CUSTOM_METADATA_MAX_BYTES} bytes", field=field
        )
    return value


def check_client_request_token(token: str | None) -> str | None:
    if token is not None and not CLIENT_REQUEST_TOKEN_RE.fullmatch(token):
        raise InvalidInput(
            "client_request_token: 1-64 characters of letters, digits and '._~:-'", field="client_request_token"
        )
    return token
