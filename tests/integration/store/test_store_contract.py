"""The store's contract, run on SQLite and PostgreSQL: transactions commit whole or not
at all, uniqueness holds, queries filter and page as the API promises."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fixtures.records import T0, secret_record
from lifecycle import secrets, version_ops
from lifecycle.core import SYSTEM, Core
from lifecycle.errors import Conflict, Locked
from lifecycle.locks import LockRequest, create_locks
from lifecycle.records import GroupRecord, RetiredKeyRecord, WebhookRecord
from lifecycle.secrets import SecretDraft
from lifecycle.store import SecretQuery, SqlStore



def test_a_failed_transaction_leaves_nothing_behind(store: SqlStore) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.insert_secret(secret_record(1, labels=["a1"]))
            raise RuntimeError("crash mid-transaction")
    with store.reader() as tx:
        assert tx.get_secret(secret_record(1).id) is None
        assert tx.list_secrets(SecretQuery(labels=["a1"]))[1] == 0


def test_name_is_unique_per_group_and_type(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.insert_secret(secret_record(1, name="same"))
        tx.insert_secret(secret_record(2, name="same", secret_type="arbitrary"))
    with pytest.raises(Conflict, match="already exists"):
        with store.transaction() as tx:
            tx.insert_secret(secret_record(3, name="same"))


def test_group_name_is_unique(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.insert_group(GroupRecord("g1", "grp", None, "t", T0, T0))
    with pytest.raises(Conflict):
        with store.transaction() as tx:
            tx.insert_group(GroupRecord("g2", "grp", None, "t", T0, T0))


def test_timestamps_come_back_as_the_same_utc_instant(store: SqlStore) -> None:
    when = datetime(2031, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    with store.transaction() as tx:
        tx.insert_secret(secret_record(1, expiration_date=when))
    with store.reader() as tx:
        got = tx.get_secret(secret_record(1).id)
    assert got is not None and got.expiration_date == when and got.expiration_date.tzinfo is not None


def test_list_pages_are_stable_and_total_counts_all_matches(store: SqlStore) -> None:
    with store.transaction() as tx:
        for i in range(25):
            tx.insert_secret(secret_record(i, labels=["even"] if i % 2 == 0 else ["odd"]))
    seen = []
    for offset in (0, 10, 20):
        with store.reader() as tx:
            rows, total = tx.list_secrets(SecretQuery(offset=offset, limit=10, sort="name"))
        assert total == 25
        seen += [r.name for r in rows]
    assert seen == sorted(seen) and len(set(seen)) == 25
    with store.reader() as tx:
        assert tx.list_secrets(SecretQuery(labels=["even"]))[1] == 13


def test_search_treats_like_wildcards_literally(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.insert_secret(secret_record(1, name="a_b"))
        tx.insert_secret(secret_record(2, name="axb"))
    with store.reader() as tx:
        rows, _ = tx.list_secrets(SecretQuery(search="a_b"))
    assert [r.name for r in rows] == ["a_b"]


def test_version_creation_refused_by_lock_changes_nothing(core: Core) -> None:
    view = secrets.create_secret(core, SYSTEM, SecretDraft("kv", "locked", fields={"data": {"v": 1}}))
    version_ops.create_version(core, SYSTEM, view.secret.id, {"data": {"v": 2}})
    create_locks(core, SYSTEM, view.secret.id, "previous", [LockRequest("app")], None)
    with core.store.reader() as tx:
        before = (tx.get_stages(view.secret.id), len(tx.list_versions(view.secret.id)))
    with pytest.raises(Locked):
        version_ops.create_version(core, SYSTEM, view.secret.id, {"data": {"v": 3}})
    with core.store.reader() as tx:
        assert (tx.get_stages(view.secret.id), len(tx.list_versions(view.secret.id))) == before


def test_deleting_a_secret_removes_versions_stages_and_labels(core: Core) -> None:
    view = secrets.create_secret(core, SYSTEM, SecretDraft("kv", "gone", labels=["l1"], fields={"data": {}}))
    secrets.delete_secret(core, SYSTEM, view.secret.id)
    with core.store.reader() as tx:
        assert tx.list_versions(view.secret.id) == []
        assert tx.get_stages(view.secret.id) == {}
        assert tx.list_secrets(SecretQuery(labels=["l1"]))[1] == 0


def _hook(i: int) -> WebhookRecord:
    return WebhookRecord(f"hook-{i}", f"https://hooks.example.test/{i}", [], b"payload", b"wrapped", "k1", None, "t", T0)


def test_webhooks_read_once_per_transaction_still_see_its_own_writes(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert tx.list_webhooks() == []
        tx.insert_webhook(_hook(1))
        assert [h.id for h in tx.list_webhooks()] == ["hook-1"]
        with pytest.raises(RuntimeError):
            with tx.savepoint():
                tx.insert_webhook(_hook(2))
                assert [h.id for h in tx.list_webhooks()] == ["hook-1", "hook-2"]
                raise RuntimeError("undo the second")
        assert [h.id for h in tx.list_webhooks()] == ["hook-1"]  # not the undone one
        tx.update_webhook("hook-1", url="https://hooks.example.test/moved")
        assert [h.url for h in tx.list_webhooks()] == ["https://hooks.example.test/moved"]
        tx.delete_webhook("hook-1")
        assert tx.list_webhooks() == []


def _retired(ca_name: str, generation: int, key_id: str) -> RetiredKeyRecord:
    return RetiredKeyRecord(ca_name, generation, "-----BEGIN CERTIFICATE-----", T0, b"payload", b"wrapped", key_id,
                            None, 3, None, T0)


def test_keys_a_rotation_retired_count_as_sealed_values_and_go_with_their_ca(store: SqlStore) -> None:
    """A data dir must not start without the root key that sealed a CA's retired key, and
    deleting the CA leaves none of its keys behind."""
    with store.transaction() as tx:
        tx.insert_retired_key(_retired("int", 1, "k-retired"))
        tx.insert_retired_key(_retired("other", 1, "k-other"))
    with pytest.raises(Conflict, match="generation 1"):
        with store.transaction() as tx:
            tx.insert_retired_key(_retired("int", 1, "k-retired"))
    with store.reader() as tx:
        assert tx.root_keys_in_use_besides(["k-other"]) == ["k-retired"]
        assert [k.generation for k in tx.list_retired_keys("int")] == [1]
    with store.transaction() as tx:
        tx.delete_config("int")
    with store.reader() as tx:
        assert tx.list_retired_keys("int") == [] and tx.root_keys_in_use_besides([]) == ["k-other"]
