"""Benchmark 6: scheduled rotation throughput. Private certificates all due at once, rotated
by two `certkeeper worker` processes (each runs the scheduler and one worker thread, as a
deployment with two worker processes does), on SQLite and PostgreSQL in interleaved rounds.

The workers start before a round and idle; one UPDATE then makes every certificate due, and
the round lasts until every rotation's task has succeeded (polled, with a bound).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, literal_column, select, update

from bench import certkeeper, pki
from bench.client import Client
from bench.options import Options
from bench.report import spread
from bench.stats import summary
from lifecycle import scheduler
from lifecycle.bootstrap import open_data_dir
from lifecycle.core import SYSTEM, Core
from lifecycle.secrets import SecretDraft, create_secret
from lifecycle.store import schema as t
from lifecycle.vocabulary import TaskKind, TaskStatus
from lifecycle.workers import BATCH_LIMIT

TITLE = "Scheduled rotation throughput (private certificates due at once, 2 worker processes)"
WORKERS = 2
SCHEDULER_INTERVAL_S = 0.2
POLL_S = 0.05
TARGET_S = 10.0
ROUND_LIMIT_S = 1800  # a round that takes longer is stopped and reported as such
POLICY = {"auto_rotate": True, "interval": 30, "unit": "day"}


def _set_up(opts: Options, stack: ExitStack, backend: str, n: int) -> tuple[Core, float, Path, str | None]:
    url = None
    if backend == "postgres":
        from fixtures.databases import postgres_schema

        url, _schema = stack.enter_context(postgres_schema())
    data_dir = opts.work / f"rotation-{backend}" / "data"
    opened = open_data_dir(data_dir, database_url=url, env_root_key=None, create=True)
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
    return core, n / (time.monotonic() - started), data_dir, url


def _make_due(core: Core) -> None:
    """Every certificate due now: the one write here that bypasses the lifecycle code."""
    with core.store.engine.begin() as conn:
        conn.execute(update(t.secrets).where(t.secrets.c.secret_type == "private_cert")
                     .values(next_rotation_date=datetime.now(UTC) - timedelta(minutes=1)))


def _vacuumed(core: Core) -> bool:
    """On a PostgreSQL server with autovacuum off, VACUUM ANALYZE (untimed) before a round, as
    autovacuum would have done between storms of due rotations, which in a deployment come
    days apart, not seconds as these rounds do. A round's own dead rows (each rotation updates
    its task twice and its secret three times) stay in it. True if it ran."""
    if core.store.engine.dialect.name != "postgresql":
        return False
    with core.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.exec_driver_sql("SHOW autovacuum").scalar_one() == "on":
            return False
        conn.exec_driver_sql("VACUUM ANALYZE")
    return True


def _count_tasks(core: Core, since: datetime) -> dict[str, int]:
    k = t.tasks.c
    with core.store.engine.connect() as conn:
        rows = conn.execute(select(k.status, func.count()).where(k.kind == TaskKind.ROTATION, k.created_at >= since)
                            .group_by(k.status)).all()
    return {str(status): int(n) for status, n in rows}


def _pending(core: Core) -> bool:
    """Rotations not done yet: certificates due or enqueued (next_rotation_date passed or
    cleared), or rotation tasks queued or running. Each probe walks one index and stops, so
    polling costs the workers next to nothing (counting succeeded tasks would read the whole,
    growing, task history each time; one OR of the two dates was 2 ms a poll on PostgreSQL)."""
    s, k = t.secrets.c, t.tasks.c
    probes = [select(s.id).where(s.next_rotation_date.is_(None), s.secret_type == "private_cert").limit(1),
              select(s.id).where(s.next_rotation_date <= datetime.now(UTC), s.secret_type == "private_cert")
              .order_by(s.next_rotation_date).limit(1),
              *(select(k.id).where(k.status == literal_column(f"'{status}'"),  # its partial index
                                   k.kind == TaskKind.ROTATION).limit(1) for status in (TaskStatus.QUEUED, TaskStatus.PROCESSING))]
    with core.store.engine.connect() as conn:
        return any(conn.execute(probe).first() is not None for probe in probes)


def rotate_all(core: Core, n: int, data_dir: Path, database_url: str | None) -> dict[str, Any]:
    """Start two worker processes, make everything due, wait until all rotated; seconds and CPU."""
    env = {"CERTKEEPER_SCHEDULER_INTERVAL": str(SCHEDULER_INTERVAL_S)}
    procs = [certkeeper.worker(f"rotation-worker-{i}", data_dir, database_url=database_url, env=env)
             for i in range(WORKERS)]
    with ExitStack() as stack:
        for proc in procs:
            stack.enter_context(proc)
        since = datetime.now(UTC) - timedelta(seconds=1)
        cpu0 = [proc.cpu() for proc in procs]
        start = time.perf_counter()
        _make_due(core)
        deadline = time.monotonic() + ROUND_LIMIT_S
        while _pending(core) and time.monotonic() < deadline:
            time.sleep(POLL_S)  # polling the store for the end, bounded by the deadline
        seconds = time.perf_counter() - start
        cpu = sum(proc.cpu() - c0 for proc, c0 in zip(procs, cpu0, strict=True))
    counts = _count_tasks(core, since)
    errors = sum(1 for proc in procs for line in proc.log.read_text(errors="replace").splitlines()
                 if line.strip() and not line.startswith("certkeeper worker:"))  # warnings and errors
    return {"seconds": seconds, "succeeded": counts.get("succeeded", 0), "tasks": counts, "store_errors": errors,
            "cpu_us_per_rotation": cpu * 1e6 / max(1, counts.get("succeeded", 0)),
            "timed_out": counts.get("succeeded", 0) < n}


def run(opts: Options) -> dict[str, Any]:
    n = opts.rotations
    backends = ["sqlite", "postgres"] if opts.postgres else ["sqlite"]
    rounds: dict[str, list[dict[str, Any]]] = {b: [] for b in backends}
    setup_rate: dict[str, float] = {}
    with ExitStack() as stack:
        stores = {}
        for backend in backends:
            core, setup_rate[backend], data_dir, url = _set_up(opts, stack, backend, n)
            stores[backend] = (core, data_dir, url)
        for _ in range(opts.rounds):
            for backend in backends:  # SQLite, PostgreSQL: A B A B
                vacuumed = _vacuumed(stores[backend][0])
                rounds[backend].append(rotate_all(stores[backend][0], n, *stores[backend][1:]) | {"vacuumed": vacuumed})
    table, targets = [], []
    for backend, rs in rounds.items():
        secs = [r["seconds"] for r in rs]
        table.append({"backend": backend, "due certificates": f"{n:,}", "seconds": spread(secs, 1),
                      "rotations/s": spread([r["succeeded"] / r["seconds"] for r in rs], 0),
                      "CPU µs/rotation (both workers)": spread([r["cpu_us_per_rotation"] for r in rs], 0),
                      "rotated / due": ", ".join(f"{r['succeeded']}/{n}" for r in rs),
                      "warnings and errors logged": ", ".join(str(r["store_errors"]) for r in rs),
                      "÷ 10 s target per round": ", ".join(f"{s / TARGET_S:.2f}" for s in secs)})
        med = summary(secs)["median"]
        scaled = med * 10_000 / n
        targets.append({"target": f"10,000 due rotations in ≤ {TARGET_S:.0f} s ({backend})",
                        "measured": f"{med:.1f} s for {n:,}" + ("" if n == 10_000 else f" (≈ {scaled:.0f} s per 10,000)"),
                        "met": scaled <= TARGET_S and not any(r["timed_out"] for r in rs)})
    return {"id": 6, "title": TITLE, "table": table, "raw": rounds, "targets": targets,
            "notes": [f"{opts.rounds} rounds per backend; before each, the two workers start and idle, then one UPDATE "
                      "makes every certificate due. "
                      + ("PostgreSQL's autovacuum is off on this server, so a VACUUM ANALYZE preceded each round, as "
                         "autovacuum would between storms days apart; each round's own dead rows stay. "
                         if any(r["vacuumed"] for r in rounds.get("postgres", [])) else "")
                      + "Setup issued the certificates in-process at "
                      f"{', '.join(f'{b} {r:.0f}/s' for b, r in setup_rate.items())}.",
                      f"Each worker process runs the scheduler (every {SCHEDULER_INTERVAL_S} s when idle; back to back "
                      f"while a tick fills its batch of {scheduler.BATCH}) and one worker thread, which claims up to "
                      f"{BATCH_LIMIT} rotations, issues their certificates from a read-only snapshot, then commits them "
                      "in one transaction (a savepoint each, writes held and run as one executemany per kind).",
                      "CPU is utime+stime of the two worker processes (PostgreSQL's own CPU is not in it)."]}
