"""Row ids are RFC 9562 version 7 UUIDs: time-ordered, unique (lifecycle/ids.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from lifecycle.ids import new_id

AT = datetime(2026, 12, 6, 23, 30, 0, 123_000, tzinfo=UTC)


def test_id_is_a_version_7_uuid_holding_its_creation_millisecond() -> None:
    text = new_id(AT)
    value = uuid.UUID(text)
    assert text == str(value)  # the canonical lowercase form
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == int(AT.timestamp() * 1000)


def test_ids_made_later_sort_after_earlier_ones() -> None:
    times = [AT + timedelta(milliseconds=i) for i in range(0, 5000, 7)]
    ids = [new_id(t) for t in times]
    assert ids == sorted(ids)


def test_ids_of_one_millisecond_are_unique() -> None:
    ids = {new_id(AT) for _ in range(20_000)}
    assert len(ids) == 20_000
