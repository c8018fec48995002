"""Scheduled rotations with an injected clock: due work becomes one task, runs once, fails
safely and recovers."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from fixtures.clock import FakeClock
from fixtures.db_work import statement_work
from fixtures.sql_trace import sent_statements, statement_plan
from fixtures.records import secret_record
from fixtures.private_pki import make_private_pki
from lifecycle import scheduler, secrets, workers
from lifecycle.core import SYSTEM, Core
from lifecycle.errors import StoreUnavailable, StoreUnreachable
from lifecycle.locks import LockRequest, create_locks, delete_locks
from lifecycle.secrets import SecretDraft
from lifecycle.store import SecretQuery
from lifecycle.vocabulary import TaskKind


def _rotating(core: Core, name: str = "svc") -> str:
    draft = SecretDraft("username_password", name, fields={
        "username": "svc", "rotation": {"auto_rotate": True, "interval": 1, "unit": "day"}})
    return secrets.create_secret(core, SYSTEM, draft).secret.id


def _versions(core: Core, secret_id: str) -> list[str]:
    with core.store.reader() as tx:
        return [v.id for v in tx.list_versions(secret_id)]


def _meta(core: Core, secret_id: str):  # type: ignore[no-untyped-def]
    return secrets.get_secret(core, SYSTEM, secret_id, with_payload=False).secret


def test_nothing_is_due_before_its_time(core: Core, clock: FakeClock) -> None:
    _rotating(core)
    clock.advance(hours=23)
    assert scheduler.tick(core).enqueued == 0


def test_due_rotation_runs_once_and_schedules_the_next(core: Core, clock: FakeClock) -> None:
    secret_id = _rotating(core)
    clock.advance(days=1, minutes=1)
    assert scheduler.tick(core).enqueued == 1
    assert scheduler.tick(core).enqueued == 0  # already a task: never twice
    assert workers.run_due(core, scheduler.HANDLERS) == 1
    assert workers.run_due(core, scheduler.HANDLERS) == 0
    assert len(_versions(core, secret_id)) == 2
    meta = _meta(core, secret_id)
    assert meta.next_rotation_date == clock() + timedelta(days=1)
    assert meta.attributes["rotation_state"] == "idle"
    with core.store.reader() as tx:
        newest = tx.list_versions(secret_id)[0]
    assert newest.auto_rotated is True


def test_several_scheduled_rotations_in_a_row(core: Core, clock: FakeClock) -> None:
    secret_id = _rotating(core)
    passwords = {secrets.get_secret(core, SYSTEM, secret_id, with_payload=True).data["password"]}  # type: ignore[index]
    for _ in range(3):
        clock.advance(days=1, seconds=1)
        scheduler.tick(core)
        workers.run_due(core, scheduler.HANDLERS)
        passwords.add(secrets.get_secret(core, SYSTEM, secret_id, with_payload=True).data["password"])  # type: ignore[index]
    assert len(passwords) == 4 and len(_versions(core, secret_id)) == 4


def test_failed_rotation_keeps_current_backs_off_and_recovers(core: Core, clock: FakeClock) -> None:
    secret_id = _rotating(core)
    clock.advance(days=1, seconds=1)
    scheduler.tick(core)
    workers.run_due(core, scheduler.HANDLERS)  # v2
    create_locks(core, SYSTEM, secret_id, "previous", [LockRequest("billing")], None)
    current_before = _versions(core, secret_id)[0]
    clock.advance(days=1, seconds=1)
    scheduler.tick(core)
    workers.run_due(core, scheduler.HANDLERS)  # refused: previous is locked
    meta = _meta(core, secret_id)
    assert meta.attributes["rotation_state"] == "failed" and meta.attributes["last_rotation_failed"] is True
    assert meta.attributes["rotation_error"]["code"] == "Locked"
    assert _versions(core, secret_id)[0] == current_before
    assert workers.run_due(core, scheduler.HANDLERS) == 0  # backing off, not hammering
    delete_locks(core, SYSTEM, secret_id, None, None)
    clock.advance(minutes=5)
    assert workers.run_due(core, scheduler.HANDLERS) == 1
    meta = _meta(core, secret_id)
    assert meta.attributes["rotation_state"] == "idle" and meta.attributes["last_rotation_failed"] is False
    assert _versions(core, secret_id)[0] != current_before


def test_expired_secrets_become_deactivated(core: Core, clock: FakeClock) -> None:
    view = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "temp", expiration_date=clock() + timedelta(hours=1),
                                                           fields={"payload": "x"}))
    clock.advance(hours=2)
    assert scheduler.tick(core).deactivated == 1
    assert _meta(core, view.secret.id).state == 3


def _certificate(core: Core, name: str, ttl: str = "720h", interval: int = 7):  # type: ignore[no-untyped-def]
    return secrets.create_secret(core, SYSTEM, SecretDraft("private_cert", name, fields={
        "certificate_template": "web", "common_name": f"{name}.example.test", "ttl": ttl,
        "rotation": {"auto_rotate": True, "interval": interval, "unit": "day"}}))


def test_private_certificate_rotates_on_schedule_with_new_serials(core: Core, clock: FakeClock) -> None:
    make_private_pki(core)
    view = secrets.create_secret(core, SYSTEM, SecretDraft("private_cert", "svc-cert", fields={
        "certificate_template": "web", "common_name": "svc.example.test", "ttl": "720h",
        "rotation": {"auto_rotate": True, "interval": 7, "unit": "day"}}))
    serials = {view.secret.attributes["serial_number"]}
    for week in range(1, 4):
        meta = _meta(core, view.secret.id)
        assert meta.next_rotation_date == clock() + timedelta(days=7)
        clock.advance(days=7, seconds=1)
        assert scheduler.tick(core).enqueued == 1
        assert workers.run_due(core, scheduler.HANDLERS) == 1
        serials.add(_meta(core, view.secret.id).attributes["serial_number"])
        assert len(serials) == week + 1
    assert len(_versions(core, view.secret.id)) == 4


def test_one_failing_rotation_in_a_batch_leaves_the_others_rotated(core: Core, clock: FakeClock) -> None:
    ids = [_rotating(core, f"svc-{i}") for i in range(3)]
    clock.advance(days=1, seconds=1)
    scheduler.tick(core)
    assert workers.run_due(core, scheduler.HANDLERS) == 3  # one batch: v2 of each
    create_locks(core, SYSTEM, ids[1], "previous", [LockRequest("billing")], None)
    clock.advance(days=1, seconds=1)
    assert scheduler.tick(core).enqueued == 3
    assert workers.run_due(core, scheduler.HANDLERS) == 3  # one batch again; the middle one is refused
    assert [len(_versions(core, i)) for i in ids] == [3, 2, 3]
    states = [_meta(core, i).attributes for i in ids]
    assert [a["rotation_state"] for a in states] == ["idle", "failed", "idle"]
    assert states[1]["rotation_error"]["code"] == "Locked"
    with core.store.reader() as tx:
        outcomes = [tx.list_tasks(i)[0].status for i in ids]
    assert outcomes == ["succeeded", "queued", "succeeded"]  # the refused one retries after its backoff


def test_a_rotation_whose_lease_was_lost_is_undone_alone(core: Core, clock: FakeClock) -> None:
    from lifecycle import tasks

    ids = [_rotating(core, f"svc-{i}") for i in range(3)]
    clock.advance(days=1, seconds=1)
    scheduler.tick(core)
    batch = tasks.claim(core.store, "slow-worker", clock(), limit=3, kinds=[TaskKind.ROTATION])
    by_secret = {c.task.secret_id: c for c in batch}
    taken = by_secret[ids[1]]
    with core.store.transaction() as tx:  # another worker claimed this one after the lease ran out
        tx.update_task(taken.task.id, fence=taken.fence + 1, lease_owner="other-worker")
    scheduler.run_rotations(core, [by_secret[i] for i in ids])  # type: ignore[arg-type]
    assert [len(_versions(core, i)) for i in ids] == [2, 1, 2]  # its new version went with its lease
    with core.store.reader() as tx:
        assert [tx.list_tasks(i)[0].status for i in ids] == ["succeeded", "processing", "succeeded"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the single-writer lock is SQLite's
def test_rotation_certificates_are_signed_while_the_database_takes_other_writes(
        core: Core, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite has one writer at a time: a batch of rotations signs its certificates before
    its write transaction opens, so API writes (another connection here) are not held up."""
    import sqlite3

    from lifecycle.types import private_cert

    make_private_pki(core)
    ids = [_certificate(core, f"svc-{i}").secret.id for i in range(3)]
    path = core.store.engine.url.database
    writable: list[bool] = []
    real = private_cert.issue_leaf

    def signing(*args, **kwargs):  # type: ignore[no-untyped-def]
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            writable.append(True)
        except sqlite3.OperationalError:  # "database is locked": a write transaction is open
            writable.append(False)
        finally:
            other.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(private_cert, "issue_leaf", signing)
    clock.advance(days=7, seconds=1)
    assert scheduler.tick(core).enqueued == 3
    assert workers.run_due(core, scheduler.HANDLERS) == 3
    assert writable == [True, True, True]
    assert [len(_versions(core, i)) for i in ids] == [2, 2, 2]


def _after_planning(monkeypatch: pytest.MonkeyPatch, change) -> None:  # type: ignore[no-untyped-def]
    """Run ``change`` between a batch's dry run and its write transaction."""
    real = scheduler._plan

    def plan_then_change(*args, **kwargs):  # type: ignore[no-untyped-def]
        made = real(*args, **kwargs)
        assert made.units  # planned whole, under the state before the change
        change()
        return made

    monkeypatch.setattr(scheduler, "_plan", plan_then_change)


def test_a_template_changed_while_a_batch_was_signed_is_applied_to_it(
        core: Core, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Certificates signed ahead are used only if nothing they came from changed since."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from lifecycle.configurations import update_configuration

    make_private_pki(core)
    ids = [_certificate(core, f"svc-{i}").secret.id for i in range(2)]
    _after_planning(monkeypatch, lambda: update_configuration(core, SYSTEM, "web", {"organization": ["Changed Meanwhile"]}))
    clock.advance(days=7, seconds=1)
    scheduler.tick(core)
    assert workers.run_due(core, scheduler.HANDLERS) == 2
    for secret_id in ids:
        pem = secrets.get_secret(core, SYSTEM, secret_id, with_payload=True).data["certificate"]  # type: ignore[index]
        cert = x509.load_pem_x509_certificate(pem.encode())
        assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["Changed Meanwhile"]
        assert len(_versions(core, secret_id)) == 2


def test_a_lock_taken_while_a_batch_was_planned_refuses_that_rotation_alone(
        core: Core, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    make_private_pki(core)
    ids = [_certificate(core, f"svc-{i}", interval=1).secret.id for i in range(3)]
    clock.advance(days=1, seconds=1)
    scheduler.tick(core)
    assert workers.run_due(core, scheduler.HANDLERS) == 3  # v2 of each: each has a previous now
    _after_planning(monkeypatch, lambda: create_locks(core, SYSTEM, ids[1], "previous", [LockRequest("app")], None))
    clock.advance(days=1, seconds=1)
    scheduler.tick(core)
    assert workers.run_due(core, scheduler.HANDLERS) == 3
    assert [len(_versions(core, i)) for i in ids] == [3, 2, 3]
    assert _meta(core, ids[1]).attributes["rotation_error"]["code"] == "Locked"


def test_a_policy_changed_while_a_batch_was_planned_is_kept_and_followed(
        core: Core, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The secret's row changed after the dry run: that rotation is done again inside, so the
    new policy is neither overwritten by the planned write nor ignored in the next date."""
    make_private_pki(core)
    ids = [_certificate(core, f"svc-{i}").secret.id for i in range(3)]
    _after_planning(monkeypatch, lambda: secrets.update_metadata(
        core, SYSTEM, ids[1], {"rotation": {"auto_rotate": True, "interval": 30, "unit": "day"}}))
    clock.advance(days=7, seconds=1)
    scheduler.tick(core)
    assert workers.run_due(core, scheduler.HANDLERS) == 3
    assert [len(_versions(core, i)) for i in ids] == [2, 2, 2]
    changed = _meta(core, ids[1])
    assert changed.attributes["rotation"]["interval"] == 30 and changed.attributes["rotation_state"] == "idle"
    assert changed.next_rotation_date is not None and changed.next_rotation_date - clock() > timedelta(days=29)
    assert _meta(core, ids[0]).next_rotation_date - clock() < timedelta(days=8)  # type: ignore[operator]


def test_rotations_with_a_webhook_registered_queue_a_delivery_each(core: Core, clock: FakeClock) -> None:
    """An event a webhook wants needs its id for the delivery: those rotations are not
    planned whole, and still land with their deliveries."""
    from lifecycle import webhooks

    make_private_pki(core)
    ids = [_certificate(core, f"svc-{i}").secret.id for i in range(3)]
    hook = webhooks.register(core, SYSTEM, "http://127.0.0.1:9/hook", ["secret_rotated"], None, allow_private=True).webhook
    clock.advance(days=7, seconds=1)
    scheduler.tick(core)
    assert workers.run_due(core, scheduler.HANDLERS) == 3
    assert [len(_versions(core, i)) for i in ids] == [2, 2, 2]
    assert len(webhooks.deliveries(core, hook.id)) == 3


def test_finding_expired_active_secrets_reads_active_ones_only(core: Core) -> None:
    """Deactivated secrets stay expired for ever; the scheduler's pass, and the look before it,
    must find the still-active expired ones without walking the deactivated ones."""
    with sent_statements(core.store.engine) as sent, core.store.reader() as tx:
        tx.secrets_expired_but_active(core.clock(), 10)
        tx.scheduled_work_due(core.clock())
    seen = [s for s in sent if "expiration_date" in s.statement and "state" in s.statement]
    assert len(seen) == 2
    with core.store.engine.connect() as conn:
        for s in seen:
            plan = statement_plan(conn, s.statement, s.parameters)
            assert "ix_secrets_active_expiration" in plan, plan


def test_the_look_for_due_work_walks_indexes_after_a_backlog_has_drained(core: Core) -> None:
    """The scheduler's read-only look before a pass probes three dates for one due secret. On
    PostgreSQL, statistics taken while a backlog was due (every secret due at once) made an
    unordered LIMIT 1 probe look cheapest as a sequential scan; once the backlog was enqueued,
    every idle look read the whole table (bloated by the backlog's updates) to find nothing."""
    past = core.clock() - timedelta(days=1)
    with core.store.transaction() as tx:
        for i in range(1, 401):
            tx.insert_secret(secret_record(i, next_rotation_date=past, next_expiry_notice=past))
    with core.store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE secrets" if conn.dialect.name == "postgresql" else "ANALYZE")
        conn.exec_driver_sql("UPDATE secrets SET next_rotation_date = NULL, next_expiry_notice = NULL")
    with sent_statements(core.store.engine) as sent, core.store.reader() as tx:
        assert not tx.scheduled_work_due(core.clock())
    look, = [s for s in sent if "next_rotation_date" in s.statement]
    with core.store.engine.connect() as conn:
        plan = statement_plan(conn, look.statement, look.parameters, seqscan=True)  # as the statistics say
    assert "Seq Scan" not in plan and "SCAN secrets" not in plan, plan
    for index in ("ix_secrets_next_rotation_date", "ix_secrets_next_expiry_notice", "ix_secrets_active_expiration"):
        assert index in plan, plan


def _due_read_cost(core: Core, due: str, first: int, n: int) -> int:
    """Insert secrets ``first`` .. ``first + n - 1``, all fallen due at one moment for ``due``;
    the database's work for a pass's read of the first 10 of everything due."""
    from lifecycle.store.tx_secrets import _DUE_ROTATIONS, _EXPIRED_ACTIVE
    from lifecycle.store.tx_work import _DUE_EXPIRY_NOTICES

    past = core.clock() - timedelta(days=1)
    column, statements = {"rotation": ("next_rotation_date", _DUE_ROTATIONS),
                          "expiry notice": ("next_expiry_notice", _DUE_EXPIRY_NOTICES),
                          "expiry": ("expiration_date", _EXPIRED_ACTIVE)}[due]
    with core.store.transaction() as tx:
        for i in range(first, first + n):
            tx.insert_secret(secret_record(i, **{column: past}))
    with core.store.engine.connect() as conn:
        try:  # a pass reads in its write transaction: on PostgreSQL, locking what it takes (SKIP LOCKED)
            work, read = statement_work(conn, statements[conn.dialect.name != "sqlite"],
                                        {"now": core.clock(), "limit": 10})
        finally:
            conn.rollback()
    assert read == 10
    return work


@pytest.mark.parametrize("due", ["rotation", "expiry notice", "expiry"])
def test_a_pass_takes_the_first_due_secrets_without_reading_all_that_fell_due_at_once(core: Core, due: str) -> None:
    """A fleet issued together falls due together: 10,000 certificates with one rotation date.
    A pass takes the first by (date, id) and stops; with the date alone indexed, each pass
    sorted every due secret by id first (on PostgreSQL 50 ms a pass at 10,000, the sort of
    their rows spilling to disk), 20 passes for a backlog of 10,000."""
    few = _due_read_cost(core, due, 1, 20)
    many = _due_read_cost(core, due, 21, 2_000)  # 2,020 due now
    assert many < 2 * few, f"taking 10 of 2,020 secrets due at once cost {many}, of 20 cost {few}"


def test_a_pass_merges_the_sqlite_search_index_when_its_segments_are_due(core: Core, clock: FakeClock) -> None:
    """A pass with nothing due still keeps SQLite's search index in few segments
    (lifecycle/store/search_upkeep.py); one with a full batch due leaves it for a later pass."""
    for first in range(0, 400, 40):  # ten transactions, ten segments (FTS5 merges 4 by 4)
        with core.store.transaction() as tx:
            for i in range(first, first + 40):
                tx.insert_secret(secret_record(i, name=f"app-{i:04d}-config", next_rotation_date=None))
    upkeep = core.store.search_upkeep
    if upkeep is None:  # PostgreSQL: a GIN index, vacuumed by the server
        assert core.store.backend == "postgresql" and scheduler.tick(core).enqueued == 0
        return
    upkeep._sleep = lambda _s: None
    assert len(upkeep.segment_pages()) > 1
    due = clock() - timedelta(minutes=1)
    with core.store.transaction() as tx:
        for i in range(500, 503):
            tx.insert_secret(secret_record(i, attributes={"rotation": {"auto_rotate": True, "interval": 1, "unit": "day"}},
                                           next_rotation_date=due))
    assert scheduler.tick(core, limit=2).more and upkeep.steps == 0  # more due at once: the backlog first
    report = scheduler.tick(core, limit=2)
    assert report.enqueued == 1 and not report.more
    assert upkeep.steps >= 1 and len(upkeep.segment_pages()) == 1
    with core.store.reader() as tx:
        assert tx.list_secrets(SecretQuery(search="app-0123-config"))[1] == 1


def test_a_failure_that_cannot_be_recorded_leaves_the_rest_of_the_batch_recorded(
    core: Core, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database blip fails a batch and then the first failure's record: the other tasks must
    still be recorded (queued for a retry), not stay claimed until their lease runs out."""
    ids = [_rotating(core, f"svc-{i}") for i in range(3)]
    clock.advance(days=1, seconds=1)
    scheduler.tick(core)
    real = core.store.transaction
    calls: list[int] = []

    def blip():  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise StoreUnavailable("database error: AdminShutdown")
        return real()

    def failing_batch(core_: Core, batch: list) -> None:  # type: ignore[type-arg]
        monkeypatch.setattr(core.store, "transaction", blip)
        raise StoreUnavailable("database error: AdminShutdown")

    assert workers.run_due(core, {TaskKind.ROTATION: workers.batched(failing_batch)}) == 3
    monkeypatch.setattr(core.store, "transaction", real)
    with core.store.reader() as tx:
        statuses = sorted(tx.list_tasks(i)[0].status for i in ids)
    assert statuses == ["processing", "queued", "queued"], statuses  # only the one whose record failed waits


def test_failures_are_not_recorded_one_connect_timeout_after_another_when_the_database_is_unreachable(
    core: Core, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Each record would wait out the connect timeout in turn (10 s each, 100 to a batch, past
    the lease): the first unreachable database ends the attempt, said in one line."""
    ids = [_rotating(core, f"svc-{i}") for i in range(3)]
    clock.advance(days=1, seconds=1)
    scheduler.tick(core)
    attempts: list[int] = []

    def unreachable():  # type: ignore[no-untyped-def]
        attempts.append(1)
        raise StoreUnreachable("database unreachable: ConnectionTimeout")

    def failing_batch(core_: Core, batch: list) -> None:  # type: ignore[type-arg]
        monkeypatch.setattr(core.store, "transaction", unreachable)
        raise StoreUnreachable("database unreachable: ConnectionTimeout")

    with caplog.at_level(logging.ERROR, logger="certkeeper.workers"):
        assert workers.run_due(core, {TaskKind.ROTATION: workers.batched(failing_batch)}) == 3
    monkeypatch.undo()
    assert len(attempts) == 1
    assert any("3 task failure(s) not recorded (database unreachable: ConnectionTimeout)" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    with core.store.reader() as tx:
        assert {tx.list_tasks(i)[0].status for i in ids} == {"processing"}  # their lease ends, then they run again
