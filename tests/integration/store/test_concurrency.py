"""Concurrent writers on one database: idempotent creation and version counters hold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

import pytest

from lifecycle import secrets, version_ops
from lifecycle.core import SYSTEM, Core
from lifecycle.errors import Conflict
from lifecycle.secrets import SecretDraft

WORKERS = 8


def test_concurrent_creates_with_one_token_make_one_secret(core: Core) -> None:
    draft = SecretDraft("kv", "raced", fields={"data": {"v": 1}}, client_request_token="same-token")
    with ThreadPoolExecutor(WORKERS) as pool:
        views = list(pool.map(lambda _: secrets.create_secret(core, SYSTEM, draft), range(WORKERS)))
    assert len({v.secret.id for v in views}) == 1
    assert all(v.data == {"data": {"v": 1}} for v in views)


def test_concurrent_versions_are_all_kept_in_order(core: Core) -> None:
    view = secrets.create_secret(core, SYSTEM, SecretDraft("kv", "counter", fields={"data": {"n": 0}}))
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda n: version_ops.create_version(core, SYSTEM, view.secret.id, {"data": {"n": n}}), range(1, 21)))
    with core.store.reader() as tx:
        rows = tx.list_versions(view.secret.id)
        stages = tx.get_stages(view.secret.id)
    assert sorted(v.seq for v in rows) == list(range(1, 22))
    assert stages["current"] == rows[0].id and stages["previous"] == rows[1].id


def test_same_token_in_another_group_is_independent(core: Core) -> None:
    from lifecycle import groups

    other = groups.create_group(core, SYSTEM, "team-b", None)
    a = secrets.create_secret(core, SYSTEM, SecretDraft("kv", "n1", fields={"data": {}}, client_request_token="t"))
    b = secrets.create_secret(core, SYSTEM, SecretDraft("kv", "n1", other.id, fields={"data": {}}, client_request_token="t"))
    assert a.secret.id != b.secret.id
    with pytest.raises(Conflict):
        secrets.create_secret(core, SYSTEM, SecretDraft("kv", "n2", fields={"data": {}}, client_request_token="t"))


def test_a_reader_waits_for_no_writer_even_where_a_write_would_lock_the_row(core: Core) -> None:
    """The rotation plan reads secrets in a read-only snapshot through the same calls that lock
    their rows in a write transaction (get_secret(for_update=True)). A reader takes no row lock,
    so it neither waits for a writer holding the row nor makes one wait."""
    view = secrets.create_secret(core, SYSTEM, SecretDraft("kv", "held-row", fields={"data": {"v": 1}}))

    def read() -> str | None:
        with core.store.reader(one_snapshot=True) as tx:
            found = tx.get_secret(view.secret.id, for_update=True)
            return found.name if found else None

    pool = ThreadPoolExecutor(1)
    try:
        with core.store.transaction() as writer:
            assert writer.get_secret(view.secret.id, for_update=True) is not None  # the row is locked (PostgreSQL)
            pending = pool.submit(read)
            finished, _ = wait([pending], timeout=10)
        assert finished, "a read-only transaction waited for the writer holding the row it read"
        assert pending.result() == "held-row"
    finally:
        pool.shutdown()
