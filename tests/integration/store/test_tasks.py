"""Tasks with leases on both backends: exclusive claims, lease expiry, fenced writes, backoff."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from fixtures.clock import FakeClock
from fixtures.db_work import statement_work
from fixtures.sql_trace import statement_plan
from lifecycle import scheduler, secrets, tasks, workers
from lifecycle.core import SYSTEM, Core
from lifecycle.secrets import SecretDraft


def _enqueue(core: Core, n: int = 1, kind: str = "demo") -> list[str]:
    now = core.clock()
    with core.store.transaction() as tx:
        return [tasks.new_task(tx, kind=kind, trigger="test", secret_id=None, params={"i": i}, created_by="t", now=now).id
                for i in range(n)]


def test_concurrent_claimers_never_share_a_task(core: Core) -> None:
    ids = _enqueue(core, 40)
    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(lambda i: tasks.claim(core.store, f"w{i}", core.clock(), kinds=["demo"], limit=40), range(4)))
    claimed = [c.task.id for batch in batches for c in batch]
    assert sorted(claimed) == sorted(ids)  # every task once, none twice


def test_expired_lease_is_claimed_again_and_the_late_write_is_rejected(core: Core, clock: FakeClock) -> None:
    _enqueue(core)
    first = tasks.claim(core.store, "dead-worker", clock(), kinds=["demo"], lease=timedelta(minutes=1))[0]
    assert tasks.claim(core.store, "other", clock(), kinds=["demo"]) == []  # leased: nobody else gets it
    clock.advance(minutes=2)
    second = tasks.claim(core.store, "live-worker", clock(), kinds=["demo"])[0]
    assert second.task.id == first.task.id and second.fence == first.fence + 1 and second.task.attempts == 2
    with pytest.raises(tasks.StaleLease):
        with core.store.transaction() as tx:
            tasks.succeed(tx, first, clock(), {"from": "dead"})
    with core.store.transaction() as tx:
        tasks.succeed(tx, second, clock(), {"from": "live"})
    with core.store.reader() as tx:
        done = tx.get_task(first.task.id)
    assert done is not None and done.status == "succeeded" and done.result == {"from": "live"}


def test_failure_backs_off_and_is_visible(core: Core, clock: FakeClock) -> None:
    _enqueue(core)
    claimed = tasks.claim(core.store, "w", clock(), kinds=["demo"])[0]
    with core.store.transaction() as tx:
        next_at = tasks.fail(tx, claimed, clock(), "unauthorized", "TXT not found", retry=True, rng=random.Random(1))
    assert next_at is not None and timedelta(seconds=24) <= next_at - clock() <= timedelta(seconds=36)
    assert tasks.claim(core.store, "w", clock(), kinds=["demo"]) == []  # not due yet
    clock.now = next_at
    again = tasks.claim(core.store, "w", clock(), kinds=["demo"])[0]
    assert again.task.last_error_code == "unauthorized" and again.task.attempts == 2


def test_backoff_grows_and_is_capped_at_a_day() -> None:
    now = FakeClock()()
    rng = random.Random(7)
    delays = [tasks.retry_at(n, now, rng) - now for n in range(1, 30)]
    assert delays[1] > delays[0] and delays[5] > delays[4]
    assert max(delays) <= tasks.BACKOFF_CAP * (1 + tasks.JITTER)


def test_run_due_records_an_escaping_exception_as_a_retry(core: Core) -> None:
    (task_id,) = _enqueue(core)

    def broken(core: Core, claimed: tasks.Claimed) -> None:
        raise RuntimeError("boom with a value that must not be stored")

    assert workers.run_due(core, {"demo": broken}) == 1
    with core.store.reader() as tx:
        task = tx.get_task(task_id)
    assert task is not None and task.status == "queued" and task.last_error_code == "RuntimeError"
    assert "must not be stored" not in (task.last_error or "")


def test_a_worker_holds_only_the_task_it_runs(core: Core) -> None:
    """Tasks claimed ahead would wait behind a slow one (an order's propagation check runs for
    minutes): another worker could not take them, and past their lease they were run twice.
    A worker claims the next task only when it has finished the one before."""
    ids = _enqueue(core, 3)
    seen: list[list[str]] = []

    def run(core: Core, claimed: tasks.Claimed) -> None:
        with core.store.reader() as tx:
            seen.append([tx.get_task(i).status for i in ids])  # type: ignore[union-attr]
        with core.store.transaction() as tx:
            tasks.succeed(tx, claimed, core.clock(), {})

    assert workers.run_due(core, {"demo": run}) == 3
    assert [sorted(statuses) for statuses in seen] == [  # whichever order they are claimed in
        ["processing", "queued", "queued"], ["processing", "queued", "succeeded"],
        ["processing", "succeeded", "succeeded"]]


def test_an_idle_pool_starts_a_queued_task_at_once_not_at_its_next_poll(core: Core) -> None:
    ran = threading.Event()
    pool = workers.WorkerPool(core, {"demo": lambda core, claimed: _finish(core, claimed, ran)}, threads=1,
                              poll_interval=3600)  # without the doorbell it would sleep an hour
    pool.start()
    try:
        _enqueue(core)
        assert ran.wait(30), "the queued task did not run: the idle worker was not woken by the commit"
    finally:
        pool.stop()


def test_a_rolled_back_enqueue_rings_nothing(core: Core) -> None:
    before = core.store.task_bell.rings
    with pytest.raises(RuntimeError):
        with core.store.transaction() as tx:
            tasks.new_task(tx, kind="demo", trigger="test", secret_id=None, params={}, created_by="t", now=core.clock())
            raise RuntimeError("abort")
    with core.store.transaction() as tx:  # a write that queues nothing
        tx.update_task("no-such-task", status="queued")
    assert core.store.task_bell.rings == before
    _enqueue(core)
    assert core.store.task_bell.rings == before + 1


def test_the_scheduler_drains_a_backlog_without_waiting_an_interval_per_batch(core: Core, clock: FakeClock) -> None:
    enqueued: list[int] = []
    done = threading.Event()

    def tick(core: Core) -> scheduler.TickReport:
        report = scheduler.tick(core, limit=2)
        enqueued.append(report.enqueued)
        if not report.more:
            done.set()
        return report

    for i in range(5):
        secrets.create_secret(core, SYSTEM, SecretDraft("username_password", f"svc-{i}", fields={
            "username": "svc", "rotation": {"auto_rotate": True, "interval": 1, "unit": "day"}}))
    clock.advance(days=1, minutes=1)
    pool = workers.WorkerPool(core, {}, threads=0, tick=tick, tick_interval=3600)
    pool.start()
    try:
        assert done.wait(30), f"the backlog was not drained in one pass; ticks so far: {enqueued}"
    finally:
        pool.stop()
    assert enqueued == [2, 2, 1]  # batches back to back, then the pause


def _finish(core: Core, claimed: tasks.Claimed, ran: threading.Event) -> None:
    with core.store.transaction() as tx:
        tasks.succeed(tx, claimed, core.clock())
    ran.set()


def test_claiming_finds_due_tasks_by_index_not_by_reading_every_finished_one(core: Core) -> None:
    """The history of finished tasks grows without bound; a claim, and the look before it, must not read it."""
    from lifecycle.store.tx_work import _any_due_task, _claim_due, _kind_params

    statements = {**{("claim", n, skip): _claim_due(n, skip) for n in (1, 2) for skip in (False, True)},
                  **{("look", n): _any_due_task(n) for n in (1, 2)}}
    params = {"now": core.clock(), "limit": 10, "owner": "w", "lease_expires": core.clock(),
              **_kind_params(["rotation", "webhook_delivery"])}
    with core.store.engine.connect() as conn:
        for key, statement in statements.items():
            compiled = statement.compile(conn)
            state = compiled.construct_expanded_state(params)
            plan = statement_plan(conn, state.statement,
                                  state.positional_parameters if compiled.positional else state.parameters)
            # Every walk starts from a status (queued or processing), never from all tasks: the
            # claim and the look walk queued tasks by ix_tasks_queued.
            assert "SCAN tasks" not in plan and "Seq Scan" not in plan and "ix_tasks_queued" in plan, (key, plan)

def _claim_cost(core: Core, queued: int, limit: int, *, kinds: tuple[str, ...] = ("rotation",),
                look: bool = False) -> int:
    """Queue ``queued`` more due rotations, then claim up to ``limit`` tasks of ``kinds`` (or,
    with ``look``, only look for one); the database's work for that statement alone."""
    from lifecycle.store.tx_work import _any_due_task, _claim_due, _kind_params

    _enqueue(core, queued, kind="rotation")
    params = {"now": core.clock(), "limit": limit, "owner": "w", "lease_expires": core.clock(), **_kind_params(kinds)}
    with core.store.engine.connect() as conn:
        statement = _any_due_task(len(kinds)) if look else _claim_due(len(kinds), conn.dialect.name != "sqlite")
        try:
            work, returned = statement_work(conn, statement, params)
        finally:
            conn.rollback()
    assert returned == (int("rotation" in kinds) if look else limit)
    return work


def test_a_claim_reads_no_more_of_the_queue_however_long_it_is(core: Core) -> None:
    """A scheduler pass queues hundreds of rotations at once, with one run_after; each claim of a
    batch must walk the due tasks in claiming order and stop, not gather and sort the queue
    under the write lock."""
    short = _claim_cost(core, 20, limit=10)
    long = _claim_cost(core, 2_000, limit=10)  # 2,020 queued now (the first claim was rolled back)
    assert long < 2 * short, f"claiming 10 of 2,020 queued tasks cost {long}, of 20 cost {short}"


def test_a_claim_walks_the_queue_in_order_with_statistics_taken_while_nothing_was_queued(core: Core) -> None:
    """Once a backlog drains, every task is finished, and statistics taken then (autovacuum's
    or an ANALYZE) say next to nothing is queued. The next backlog's claims must still walk the
    queue in claiming order and stop, not walk it by whichever index looks small and sort it."""
    finished = _enqueue(core, 3_000, kind="rotation")
    with core.store.transaction() as tx:  # each through its lease, as workers finish them
        for task_id in finished:
            tx.update_task(task_id, status="processing", lease_owner="w", lease_expires=core.clock())
            tx.update_task(task_id, status="succeeded", lease_owner=None, lease_expires=None)
    with core.store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    short = _claim_cost(core, 20, limit=10)
    long = _claim_cost(core, 2_000, limit=10)
    assert long < 2 * short, f"claiming 10 of 2,020 queued tasks cost {long}, of 20 cost {short}"


def test_a_look_for_other_kinds_skips_a_backlog_of_rotations(core: Core) -> None:
    """A worker looks for webhook deliveries and ACME orders before each batch of rotations; a
    backlog of 10,000 rotations must not be read through to find that none of those is due."""
    others = ("webhook_delivery", "acme_order")
    short = _claim_cost(core, 20, limit=1, kinds=others, look=True)
    long = _claim_cost(core, 2_000, limit=1, kinds=others, look=True)
    assert long < 2 * short + 10, f"looking past 2,020 queued rotations cost {long}, past 20 cost {short}"
