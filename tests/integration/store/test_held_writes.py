"""Held writes (Tx.held_writes) on SQLite and PostgreSQL: a batch of per-secret changes
reaches the database as one executemany per kind, with the same rows as writing them one
by one; a failed unit is undone alone, also after a write that could not be held; two
writes to one row keep their order; rows read ahead serve one read and yield to writes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from fixtures.records import T0, secret_record, version_record
from fixtures.sql_trace import sent_statements
from lifecycle.errors import Conflict
from lifecycle.records import AuditRecord, EventRecord, GroupRecord, LockRecord, TaskRecord
from lifecycle.store import SqlStore, Tx

SECRETS = [secret_record(i) for i in range(1, 6)]
OTHERS = [secret_record(i) for i in range(6, 11)]  # changed one by one, to compare with
EXTRA_GROUP = GroupRecord("extra", "extra", None, "t", T0, T0)  # its insert is never held


class Boom(Exception):
    pass


@pytest.fixture
def stocked(store: SqlStore) -> SqlStore:
    """Ten secrets, each with version 1 labelled current."""
    with store.transaction() as tx:
        for s in SECRETS + OTHERS:
            tx.insert_secret(s)
            tx.insert_version(version_record(s.id, 1))
            tx.add_stage(s.id, "current", version_record(s.id, 1).id)
    return store


def _rotate(tx: Tx, secret_id: str, seq: int) -> None:
    """What a rotation writes: a version, the labels moved, the old payload erased, the
    secret's new state, an event and an audit record."""
    new, old = version_record(secret_id, seq), version_record(secret_id, seq - 1)
    tx.insert_version(new)
    tx.set_stage(secret_id, "current", new.id, present=True)
    tx.set_stage(secret_id, "previous", old.id, present=seq > 2)
    if seq > 2:
        tx.erase_payloads([version_record(secret_id, seq - 2).id], secret_id=secret_id)
    tx.update_secret(secret_id, versions_total=seq, attributes={"rotated": seq})
    tx.insert_event(EventRecord(at=T0, event_type="secret_rotated", secret_id=secret_id, secret_group_id="default",
                                secret_type="kv", secret_name="n", detail={"seq": seq}), want_id=False)
    tx.insert_audit(AuditRecord(T0, "tok", "secret.create_version", f"secret:{secret_id}", "success", None))


def _state(store: SqlStore, secrets: list[Any] = SECRETS) -> list[Any]:
    """Per secret: attributes, stage labels and (seq, payload kept) of its versions, ids made relative."""
    with store.reader() as tx:
        return [(tx.get_secret(s.id).attributes,  # type: ignore[union-attr]
                 {k: v[-4:] for k, v in tx.get_stages(s.id).items()},
                 [(v.seq, v.payload_available) for v in tx.list_versions(s.id)]) for s in secrets]


def _event_seqs(store: SqlStore) -> list[int]:
    with store.reader() as tx:
        return [e.detail["seq"] for e in tx.list_events(event_types=None, secret_id=None, groups=None, since=None,
                                                        after_id=None, limit=100)]


def test_a_held_batch_writes_the_same_rows_as_one_by_one_in_one_executemany_per_kind(stocked: SqlStore) -> None:
    for seq in (2, 3):
        with stocked.transaction() as tx:
            for s in SECRETS + OTHERS:
                _rotate(tx, s.id, seq)
    with stocked.transaction() as tx:
        for s in OTHERS:
            _rotate(tx, s.id, 4)
    with sent_statements(stocked.engine) as sent, stocked.transaction() as tx, tx.held_writes():
        for s in SECRETS:
            _rotate(tx, s.id, 4)
        assert not [x.head for x in sent if x.head.split()[0] in ("INSERT", "UPDATE")]  # nothing written yet
    writes = [x for x in sent if x.head.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert len(writes) == 6 and all(x.executemany for x in writes)  # version, labels, erase, secret, event, audit
    assert not [x.head for x in writes if x.compiled], "held writes went through SQLAlchemy's execution"
    assert _state(stocked) == _state(stocked, OTHERS)
    assert _state(stocked)[0] == ({"rotated": 4}, {"current": "v004", "previous": "v003"},
                                  [(4, True), (3, True), (2, False), (1, False)])
    assert _event_seqs(stocked)[-5:] == [4] * 5  # held events last, in the order the batch made them


def test_writes_planned_in_a_snapshot_and_replayed_go_to_the_driver_as_made_with_the_same_rows(
        stocked: SqlStore) -> None:
    """A dry block's units, taken out (`held_since`), are compiled and their values processed in
    the snapshot; replayed in a write transaction they reach the driver as one executemany per
    kind and store exactly what SQLAlchemy would have: datetimes, JSON, bytes, booleans."""
    with stocked.transaction() as tx:
        for s in OTHERS:
            _rotate(tx, s.id, 2)
    units = []
    with stocked.reader() as tx, tx.held_writes(dry=True):
        for s in SECRETS:
            mark = tx.held_count()
            _rotate(tx, s.id, 2)
            units.append(tx.held_since(mark))
    assert all(w.driver is not None for unit in units for w in unit)
    with sent_statements(stocked.engine) as sent, stocked.transaction() as tx, tx.held_writes():
        for unit in units:
            tx.replay(unit)
    writes = [s for s in sent if s.head.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert len(writes) == 6 and all(s.executemany for s in writes), [s.head for s in writes]
    assert not [s.head for s in writes if s.compiled], "held writes went through SQLAlchemy's compiler"

    def rows(secrets: list[Any]) -> list[Any]:
        with stocked.reader() as tx:
            return [(tx.get_secret(s.id).versions_total,  # type: ignore[union-attr]
                     [(v.seq, v.created_at, v.payload, v.wrapped_key, v.attributes, v.downloaded, v.auto_rotated)
                      for v in tx.list_versions(s.id)]) for s in secrets]

    assert rows(SECRETS) == rows(OTHERS) and _state(stocked) == _state(stocked, OTHERS)
    assert rows(SECRETS)[0][1][0][1] == version_record(SECRETS[0].id, 2).created_at  # a datetime, read back as one


def test_a_held_batch_that_breaks_a_constraint_fails_whole_naming_no_value(stocked: SqlStore) -> None:
    """The driver's error comes back as the store's Conflict, as from SQLAlchemy, without the
    rows' values (they may hold sealed payloads), and nothing of the batch is written."""
    clash = version_record(SECRETS[1].id, 2)
    with pytest.raises(Conflict) as caught, stocked.transaction() as tx, tx.held_writes():
        tx.insert_version(version_record(SECRETS[0].id, 2))
        tx.insert_version(replace(clash, secret_id=SECRETS[0].id, seq=3))
        tx.insert_version(clash)  # the same id again
    assert clash.id not in str(caught.value) and SECRETS[0].id not in str(caught.value)
    assert _state(stocked)[:2] == [({}, {"current": "v001"}, [(1, True)])] * 2


def test_a_failed_unit_is_undone_alone(stocked: SqlStore) -> None:
    with stocked.transaction() as tx, tx.held_writes():
        for n, s in enumerate(SECRETS):
            try:
                with tx.savepoint():
                    _rotate(tx, s.id, 2)
                    if n == 1:
                        raise Boom
            except Boom:
                pass
    assert [stages["current"] for _, stages, _ in _state(stocked)] == ["v002", "v001", "v002", "v002", "v002"]
    assert len(_event_seqs(stocked)) == 4


def test_a_write_that_cannot_be_held_runs_in_order_and_is_undone_with_its_unit(stocked: SqlStore) -> None:
    with stocked.transaction() as tx, tx.held_writes():
        _rotate(tx, SECRETS[0].id, 2)  # held, before the failing unit: must survive
        try:
            with tx.savepoint():
                _rotate(tx, SECRETS[1].id, 2)
                tx.insert_group(EXTRA_GROUP)  # not held: what was held runs first, inside a savepoint for this unit
                raise Boom
        except Boom:
            pass
        _rotate(tx, SECRETS[2].id, 2)  # held again after it
    with stocked.reader() as tx:
        assert tx.get_group(EXTRA_GROUP.id) is None
        currents = [tx.get_stages(s.id)["current"][-4:] for s in SECRETS[:3]]
    assert currents == ["v002", "v001", "v002"]
    assert _event_seqs(stocked) == [2, 2]


def test_a_held_write_of_the_batch_that_fails_inside_a_later_unit_fails_the_batch_not_that_unit(
        stocked: SqlStore) -> None:
    """Writes held outside a unit run when that unit makes a write that cannot be held; if one
    of them breaks a constraint, the failure is the batch's: the unit's handler never sees it
    (it would be blamed for what it did not do), the transaction fails and nothing is written."""
    clash = version_record(SECRETS[0].id, 1)  # version 1 exists: the same id again
    blamed: list[Exception] = []
    with pytest.raises(Conflict), stocked.transaction() as tx, tx.held_writes():
        _rotate(tx, SECRETS[1].id, 2)
        tx.insert_version(clash)  # held, outside any unit
        try:
            with tx.savepoint():
                _rotate(tx, SECRETS[2].id, 2)
                tx.insert_group(EXTRA_GROUP)  # not held: what the batch held runs first, and fails
        except Conflict as exc:  # what a batch's loop catches for one unit
            blamed.append(exc)
    assert blamed == []
    assert _state(stocked)[:3] == [({}, {"current": "v001"}, [(1, True)])] * 3
    with stocked.reader() as tx:
        assert tx.get_group(EXTRA_GROUP.id) is None


def test_a_units_own_held_write_that_fails_inside_it_is_that_units_failure(stocked: SqlStore) -> None:
    clash = version_record(SECRETS[0].id, 1)
    blamed: list[Exception] = []
    with stocked.transaction() as tx, tx.held_writes():
        _rotate(tx, SECRETS[1].id, 2)
        try:
            with tx.savepoint():
                tx.insert_version(clash)  # held inside this unit
                tx.insert_group(EXTRA_GROUP)  # runs it: the unit fails and is undone alone
        except Conflict as exc:
            blamed.append(exc)
        _rotate(tx, SECRETS[2].id, 2)
    assert len(blamed) == 1
    assert [stages["current"] for _, stages, _ in _state(stocked)[:3]] == ["v001", "v002", "v002"]
    with stocked.reader() as tx:
        assert tx.get_group(EXTRA_GROUP.id) is None


def test_two_writes_to_one_row_keep_their_order(stocked: SqlStore) -> None:
    a, b = SECRETS[0].id, SECRETS[1].id
    with stocked.transaction() as tx, tx.held_writes():
        tx.update_secret(a, attributes={"step": 1}, state=2)
        tx.update_secret(b, attributes={"step": 1})
        tx.update_secret(a, next_rotation_date=T0)  # other columns: held alongside
        tx.update_secret(a, attributes={"step": 2})  # the same column again: the first runs before it
        tx.set_stage(b, "blue", version_record(b, 1).id, present=False)
        tx.remove_stage(b, "blue")
    with stocked.reader() as tx:
        first, second = tx.get_secret(a), tx.get_secret(b)
        assert tx.get_stages(b) == {"current": version_record(b, 1).id}
    assert first is not None and second is not None
    assert (first.attributes, first.state, first.next_rotation_date) == ({"step": 2}, 2, T0)
    assert second.attributes == {"step": 1}


def test_reads_do_not_see_held_writes_until_they_are_written(stocked: SqlStore) -> None:
    a = SECRETS[0].id
    with stocked.transaction() as tx, tx.held_writes():
        tx.update_secret(a, attributes={"held": True})
        assert tx.get_secret(a).attributes == {}  # type: ignore[union-attr]
        tx.write_held()
        assert tx.get_secret(a).attributes == {"held": True}  # type: ignore[union-attr]


def test_rows_read_ahead_serve_one_read_each_and_yield_to_writes(stocked: SqlStore) -> None:
    ids = [s.id for s in SECRETS]
    with sent_statements(stocked.engine) as sent, stocked.transaction() as tx, tx.held_writes():
        tx.prefetch_secrets(ids, for_update=True)
        ahead = len(sent)
        for i in ids:
            assert tx.get_secret(i, for_update=True).id == i  # type: ignore[union-attr]
            assert tx.get_stages(i) == {"current": version_record(i, 1).id}
            assert [(v.seq, v.payload_available) for v in tx.list_version_entries(i)] == [(1, True)]
            assert tx.list_locks(secret_id=i) == []
        assert len(sent) == ahead  # all from the four queries ahead
        tx.get_stages(ids[0])
        assert len(sent) == ahead + 1  # a second read asks the database
        tx.prefetch_secrets(ids)
        tx.update_secret(ids[1], attributes={"changed": True})
        tx.write_held()
        assert tx.get_secret(ids[1]).attributes == {"changed": True}  # type: ignore[union-attr]


def test_a_snapshot_of_secrets_changes_with_any_row_a_change_of_them_reads(stocked: SqlStore) -> None:
    a, b = SECRETS[0].id, SECRETS[1].id

    def snap() -> dict[str, Any]:
        with stocked.reader() as tx:
            return tx.snapshot_secrets([a, b, "no-such-secret"])

    first = snap()
    assert set(first) == {a, b} and snap() == first  # the absent one is absent; unchanged is equal
    changes = [
        lambda tx: tx.update_secret(a, attributes={"x": 1}),
        lambda tx: tx.add_stage(a, "blue", version_record(a, 1).id),
        lambda tx: tx.upsert_lock(LockRecord(a, version_record(a, 1).id, "app", None, {}, "t", T0, T0)),
        lambda tx: tx.insert_version(version_record(a, 2)),
        lambda tx: tx.erase_payloads([version_record(a, 1).id], secret_id=a),
        lambda tx: tx.delete_versions([version_record(a, 1).id], secret_id=a),
    ]
    for change in changes:
        before = snap()
        with stocked.transaction() as tx:
            change(tx)
        after = snap()
        assert after[a] != before[a] and after[b] == before[b] == first[b]
    # A version's metadata is not read by a change of the secret (only its number and whether it
    # holds a payload), so editing it leaves the snapshot as it was.
    before = snap()
    with stocked.transaction() as tx:
        tx.update_version(version_record(a, 2).id, downloaded=True, custom_metadata={"edited": True})
    assert snap() == before


def test_records_read_ahead_equal_the_records_read_one_by_one(stocked: SqlStore) -> None:
    """prefetch_secrets makes its records from the snapshot's raw rows: every field decoded as a
    query typed by the table decodes it (datetimes, JSON, bytes, booleans)."""
    a = SECRETS[0].id
    with stocked.transaction() as tx:
        tx.insert_version(version_record(a, 2, attributes={"k": [1, "x"]}, downloaded=True))
        tx.update_secret(a, attributes={"rotation": {"interval": 3}}, labels=["x", "y"], locks_total=1)
        tx.upsert_lock(LockRecord(a, version_record(a, 1).id, "app", "d", {"n": 1}, "t", T0, T0))
    ids = [s.id for s in SECRETS]
    with stocked.reader() as tx:
        one_by_one = [(tx.get_secret(i), tx.get_stages(i), tx.list_locks(secret_id=i), tx.list_version_entries(i))
                      for i in ids]
    with stocked.reader() as tx, tx.held_writes(dry=True):
        tx.prefetch_secrets(ids)
        ahead = [tx.peek_prefetched(i) for i in ids]
    assert ahead == one_by_one


def _task(i: int, fence: int) -> TaskRecord:
    return TaskRecord(id=f"task-{i}", secret_id=None, kind="k", trigger="t", status="processing", params={}, result=None,
                      attempts=1, run_after=T0, lease_owner="me", lease_expires=T0, fence=fence, last_error_code=None,
                      last_error=None, created_by="t", created_at=T0, updated_at=T0)


def test_fenced_task_updates_are_held_only_under_a_fence_the_transaction_holds(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.insert_task(_task(1, 3))
        tx.insert_task(_task(2, 3))
    with store.transaction() as tx, tx.held_writes():
        tx.hold_fences(tx.lock_fences(["task-1"]))
        assert tx.update_task("task-1", expect_fence=3, status="succeeded") is True  # held
        assert tx.update_task("task-2", expect_fence=2, status="succeeded") is False  # not held: ran, stale
    with store.reader() as tx:
        assert [tx.get_task(f"task-{i}").status for i in (1, 2)] == ["succeeded", "processing"]  # type: ignore[union-attr]


def test_a_batch_of_creations_adds_to_one_count_row_per_group_and_type(store: SqlStore) -> None:
    """The secrets created in one held batch (spread over every count shard, two types) move one
    secret_counts row per (group, type), in key order: two batches in two server processes then
    never lock shared count rows in crossed orders (on PostgreSQL they deadlocked). The totals
    are those of creating them one by one."""
    from lifecycle.store.schema import COUNT_SHARDS
    from lifecycle.store.tx_secrets import SecretQuery

    batch = [secret_record(100 + i, name=f"b{i:03}", secret_type="kv" if i % 3 else "arbitrary")
             for i in range(4 * COUNT_SHARDS)]
    with sent_statements(store.engine) as sent, store.transaction() as tx, tx.held_writes():
        for s in batch:
            tx.insert_secret(s)
    adds = [x for x in sent if "secret_counts" in x.statement]
    assert len(adds) == 1
    rows = adds[0].parameters if adds[0].executemany else [adds[0].parameters]
    assert len(rows) == 2  # one per type, whichever shards the ids fall in
    with store.reader() as tx:
        assert tx.list_secrets(SecretQuery(secret_types=["kv"]))[1] == sum(s.secret_type == "kv" for s in batch)
        assert tx.list_secrets(SecretQuery(secret_types=["arbitrary"]))[1] == sum(
            s.secret_type == "arbitrary" for s in batch)
        assert tx.list_secrets(SecretQuery())[1] == len(batch)


def _row_ids(sent: list[Any], table: str, ids: list[str]) -> list[str]:
    """Which of ``ids`` the UPDATEs of ``table`` sent changed, in the order the database got them."""
    out: list[str] = []
    for x in sent:
        if x.head == f"UPDATE {table} SET":
            for r in x.parameters if x.executemany else [x.parameters]:
                out += [v for v in (r.values() if isinstance(r, dict) else r) if v in ids]
    return out


def test_held_updates_run_in_row_order_whatever_order_they_were_made_in(stocked: SqlStore) -> None:
    """Two batches (say of two server processes) updating shared rows take the rows' locks in
    one order, so on PostgreSQL one waits for the other instead of deadlocking."""
    ids = [s.id for s in SECRETS]
    with sent_statements(stocked.engine) as sent, stocked.transaction() as tx, tx.held_writes():
        for secret_id in reversed(ids):
            tx.update_secret(secret_id, attributes={"touched": True})
    assert _row_ids(sent, "secrets", ids) == ids
    with stocked.reader() as tx:
        assert all(tx.get_secret(i).attributes == {"touched": True} for i in ids)  # type: ignore[union-attr]


def test_a_batch_of_payload_reads_marks_versions_then_secrets_in_id_order(stocked: SqlStore) -> None:
    from lifecycle import payload_reads
    from lifecycle.core import SYSTEM
    from lifecycle.payload_reads import PayloadRead

    reads = [PayloadRead("secret.read_payload", s.id, version_record(s.id, 1).id, True, SYSTEM, T0)
             for s in reversed(SECRETS)]
    with sent_statements(stocked.engine) as sent:
        payload_reads.write_now(stocked, reads)
    versions = sorted(version_record(s.id, 1).id for s in SECRETS)
    assert _row_ids(sent, "secret_versions", versions) == versions
    assert _row_ids(sent, "secrets", [s.id for s in SECRETS]) == [s.id for s in SECRETS]
    with stocked.reader() as tx:
        assert all(tx.get_secret(s.id).downloaded for s in SECRETS)  # type: ignore[union-attr]
