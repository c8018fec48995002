"""Benchmark 6: scheduled rotation throughput. Private certificates all due at once, rotated
by the scheduler's `tick` and two workers running `run_due` with the handlers `serve` runs
(lifecycle/background.py), on SQLite and PostgreSQL in interleaved rounds.

The loops run back to back, as `WorkerPool` runs them when work is waiting: the scheduler
drains a backlog tick after tick, and idle workers are woken by the commit that queued work.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bench import pki
from bench.client import Client
from bench.options import Options
from bench.report import spread
from bench.stats import summary
from lifecycle import scheduler
from lifecycle.background import background_handlers
from lifecycle.bootstrap import open_data_dir
from lifecycle.core import SYSTEM, Core
from lifecycle.errors import CertkeeperError
from lifecycle.secrets import SecretDraft, create_secret
from lifecycle.store import schema as t
from lifecycle.workers import BATCH_LIMIT, run_due

TITLE = "Scheduled rotation throughput (private certificates due at once, 2 workers)"
WORKERS = 2
TARGET_S = 10.0
ROUND_LIMIT_S = 1800  # a round that takes longer is stopped and reported as such
POLICY = {"auto_rotate": True, "interval": 30, "unit": "day"}


def _set_up(opts: Options, stack: ExitStack, backend: str, n: int) -> tuple[Core, float]:
    url = None
    if backend == "postgres":
        from fixtures.databases import postgres_schema

        url, _schema = stack.enter_context(postgres_schema())
    opened = open_data_dir(opts.work / f"rotation-{backend}" / "data", database_url=url, env_root_key=None, create=True)
    core = opened.core
    stack.callback(core.store.dispose)
    from api.app import create_app
    from fixtures.live_server import serve

    with serve(create_app(core)) as base:  # the CA hierarchy through the API, as users make it
        client = Client(base, opened.admin_token)
        pki.set_up(client)
        client.close()
    started = time.monotonic()
    for i in range(n):
        create_secret(core, SYSTEM, SecretDraft(secret_type="private_cert", name=f"rotating-{i:05d}",
                                                fields=pki.issue_fields() | {"rotation": POLICY}))
    return core, n / (time.monotonic() - started)


def _make_due(core: Core) -> None:
    """Every certificate due now: the one write here that bypasses the lifecycle code."""
    with core.store.engine.begin() as conn:
        conn.execute(update(t.secrets).where(t.secrets.c.secret_type == "private_cert")
                     .values(next_rotation_date=datetime.now(UTC) - timedelta(minutes=1)))


def _count_tasks(core: Core, since: datetime) -> dict[str, int]:
    k = t.tasks.c
    with core.store.engine.connect() as conn:
        rows = conn.execute(select(k.status, func.count()).where(k.kind == scheduler.ROTATION, k.created_at >= since)
                            .group_by(k.status)).all()
    return {str(status): int(n) for status, n in rows}


def rotate_all(core: Core, n: int) -> dict[str, Any]:
    """Tick until nothing more is due while two workers run due tasks; seconds until all ran."""
    handlers = background_handlers()
    ticks_done = threading.Event()
    since = datetime.now(UTC) - timedelta(seconds=1)
    deadline = time.monotonic() + ROUND_LIMIT_S
    errors: list[BaseException] = []

    store_errors: list[str] = []

    def transient(exc: CertkeeperError) -> None:
        """As WorkerPool does: a store error is logged and the loop goes on. Keep the driver's cause."""
        cause = getattr(exc.__context__, "orig", exc.__context__)
        store_errors.append(f"{exc.message}: {cause}")

    def schedule() -> None:
        try:
            for _ in range(n // scheduler.BATCH + 50):  # bounded: each pass enqueues up to BATCH
                if time.monotonic() > deadline:
                    break
                try:
                    if scheduler.tick(core).enqueued == 0:
                        break
                except CertkeeperError as exc:
                    transient(exc)
        except BaseException as exc:  # reported after the round
            errors.append(exc)
        finally:
            ticks_done.set()

    def work(i: int) -> None:
        try:
            while time.monotonic() < deadline:
                finished = ticks_done.is_set()  # read before claiming: a claim of 0 after it means the end
                try:
                    ran = run_due(core, handlers, owner=f"bench-worker-{i}")
                except CertkeeperError as exc:
                    transient(exc)
                    continue
                if ran == 0 and finished:
                    return
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=schedule)] + [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
    cpu0, start = os.times(), time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(ROUND_LIMIT_S + 60)
    seconds = time.perf_counter() - start
    cpu1 = os.times()
    if errors:
        raise errors[0]
    counts = _count_tasks(core, since)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {"seconds": seconds, "succeeded": counts.get("succeeded", 0), "tasks": counts,
            "store_errors": len(store_errors), "store_error_examples": sorted(set(store_errors))[:3],
            "cpu_us_per_rotation": cpu * 1e6 / max(1, counts.get("succeeded", 0))}


def run(opts: Options) -> dict[str, Any]:
    n = opts.rotations
    backends = ["sqlite", "postgres"] if opts.postgres else ["sqlite"]
    rounds: dict[str, list[dict[str, Any]]] = {b: [] for b in backends}
    setup_rate: dict[str, float] = {}
    with ExitStack() as stack:
        cores = {}
        for backend in backends:
            cores[backend], setup_rate[backend] = _set_up(opts, stack, backend, n)
        for _ in range(opts.rounds):
            for backend in backends:  # SQLite, PostgreSQL: A B A B
                _make_due(cores[backend])
                rounds[backend].append(rotate_all(cores[backend], n))
    table, targets = [], []
    for backend, rs in rounds.items():
        secs = [r["seconds"] for r in rs]
        table.append({"backend": backend, "due certificates": f"{n:,}", "seconds": spread(secs, 1),
                      "rotations/s": spread([r["succeeded"] / r["seconds"] for r in rs], 0),
                      "CPU µs/rotation (whole process)": spread([r["cpu_us_per_rotation"] for r in rs], 0),
                      "rotated / due": ", ".join(f"{r['succeeded']}/{n}" for r in rs),
                      "store errors": ", ".join(str(r["store_errors"]) for r in rs),
                      "÷ 10 s target per round": ", ".join(f"{s / TARGET_S:.2f}" for s in secs)})
        med = summary(secs)["median"]
        scaled = med * 10_000 / n
        targets.append({"target": f"10,000 due rotations in ≤ {TARGET_S:.0f} s ({backend})",
                        "measured": f"{med:.1f} s for {n:,}" + ("" if n == 10_000 else f" (≈ {scaled:.0f} s per 10,000)"),
                        "met": scaled <= TARGET_S})
    return {"id": 6, "title": TITLE, "table": table, "raw": rounds, "targets": targets,
            "notes": [f"{opts.rounds} rounds per backend; before each, one UPDATE makes every certificate due. "
                      f"Setup issued the certificates in-process at {', '.join(f'{b} {r:.0f}/s' for b, r in setup_rate.items())}.",
                      f"The scheduler enqueues {scheduler.BATCH} per tick and ticks again at once while a tick fills "
                      f"its batch, as `certkeeper serve`'s WorkerPool does; each worker claims up to "
                      f"{BATCH_LIMIT} rotations and commits them in one transaction (a savepoint each).",
                      "Two worker threads in one process share the GIL: the second adds overlap with the "
                      "database's waits, not a second core."]}
