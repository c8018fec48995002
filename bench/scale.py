"""Benchmark 5: scale. Stores with a small and a large number of secrets (bulk-loaded through
the store layer, SQLite and PostgreSQL), each served by `certkeeper serve`; p50/p99 of the
first page of the list, a filtered search, a get by id, and finding the 100 secrets due for
rotation (the store method the scheduler calls), large vs small in interleaved rounds."""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from bench import bulk_load, certkeeper
from bench.client import Client, probe
from bench.options import Options
from bench.proc import Server
from bench.report import per_round, spread
from bench.stats import percentile, ratios, summary
from fixtures.sql_trace import sent_statements, statement_plan
from lifecycle.bootstrap import open_data_dir
from lifecycle.core import Core

TITLE = "Scale: large store vs small store (p50/p99 per operation, server RSS)"
DUE_LIMIT = 100
RSS_TARGET_MB = 300


class Store:
    """One loaded store: its served process and an in-process Core on the same database."""

    def __init__(self, opts: Options, stack: ExitStack, backend: str, size: int) -> None:
        self.backend, self.size = backend, size
        name = f"{backend}-{size}"
        data_dir = opts.work / f"scale-{name}" / "data"
        url = None
        if backend == "postgres":
            from fixtures.databases import postgres_schema

            url, _schema = stack.enter_context(postgres_schema())
        opened = open_data_dir(data_dir, database_url=url, env_root_key=None, create=True)
        self.core: Core = opened.core
        stack.callback(self.core.store.dispose)
        started = time.monotonic()
        self.ids = bulk_load.load(self.core, size)
        self.load_seconds = time.monotonic() - started
        self.merge_seconds = 0.0
        if backend == "postgres":  # what autovacuum does shortly after a bulk load; plans need the statistics
            with self.core.store.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:  # what the scheduler's passes do shortly after a bulk load (lifecycle/store/search_upkeep.py)
            upkeep = self.core.store.search_upkeep
            assert upkeep is not None
            started = time.monotonic()
            upkeep.run(budget_s=3600.0)
            assert not upkeep.merging, "the search index merge did not finish within an hour"
            self.merge_seconds = time.monotonic() - started
        self.server: Server = stack.enter_context(certkeeper.server(f"scale-{name}", data_dir, database_url=url))
        self.client = Client(self.server.base, certkeeper.admin_token(data_dir))
        stack.callback(self.client.close)

    def operations(self, offset: int = 0) -> dict[str, Any]:
        """Each operation as a call of i; searches and gets take the sampled secrets from
        ``offset`` on (each round its own, so none is asked twice: a round measures the store, not
        the pages the last round left in SQLite's cache)."""
        ids, names = self.ids, [bulk_load.name_of(int(i.split("-")[0])) for i in self.ids]
        return {
            "list first page": lambda i: self.client.get("/api/v2/secrets"),
            "filtered search": lambda i: self.client.get(f"/api/v2/secrets?search={names[(offset + i) % len(names)]}"),
            "get by id": lambda i: self.client.get(f"/api/v2/secrets/{ids[(offset + i) % len(ids)]}"),
            "due rotations (store)": lambda i: self._due(),
        }

    def _due(self) -> None:
        with self.core.store.reader() as tx:
            found = tx.secrets_due_for_rotation(datetime.now(UTC), DUE_LIMIT)
        assert len(found) == DUE_LIMIT, len(found)

    def due_plan(self) -> str:
        """The database's plan for the exact statement `secrets_due_for_rotation` runs."""
        engine = self.core.store.engine
        with sent_statements(engine) as sent:
            self._due()
        due = next(s for s in sent if "next_rotation_date" in s.statement)
        with engine.begin() as conn:  # the plan on the large store's own statistics
            return statement_plan(conn, due.statement, due.parameters, seqscan=True)


def run(opts: Options) -> dict[str, Any]:
    small, large = opts.scale_sizes
    count = 10 if opts.quick else 160  # the warm-up and 5 rounds ask 960 of the 1,000 sampled secrets
    backends = ["sqlite", "postgres"] if opts.postgres else ["sqlite"]
    table, raw, targets, notes = [], {}, [], []
    for backend in backends:
        with ExitStack() as stack:
            stores = [Store(opts, stack, backend, size) for size in (small, large)]
            samples: dict[tuple[str, int], list[list[float]]] = {}
            for store in stores:  # a warm-up round, not counted: a server just started reads cold pages
                for op in store.operations().values():
                    probe(op, count=count, max_seconds=opts.seconds)
            for round_ in range(1, opts.rounds + 1):
                for op_name in stores[0].operations():
                    for store in stores:  # small, large: A B A B
                        lat = probe(store.operations(round_ * count)[op_name], count=count, max_seconds=opts.seconds)
                        samples.setdefault((op_name, store.size), []).append(lat)
            rss = {s.size: s.server.memory() for s in stores}
            plan = stores[1].due_plan()
            loads = {s.size: round(s.load_seconds, 1) for s in stores}
            merges = {s.size: round(s.merge_seconds, 1) for s in stores}
        _tabulate(backend, small, large, samples, table, raw, targets)
        peak = rss[large]["VmHWM"] / 1024
        notes.append(f"{backend}: server RSS peak {rss[small]['VmHWM'] / 1024:.0f} MB with {small:,} secrets, "
                     f"{peak:.0f} MB with {large:,}.")
        targets.append({"target": f"RSS under {RSS_TARGET_MB} MB ({backend}, {large:,} secrets)",
                        "measured": f"{peak:.0f} MB", "met": peak < RSS_TARGET_MB})
        uses_index = "ix_secrets_next_rotation_date" in plan
        targets.append({"target": f"finding due rotations never scans all secrets ({backend})",
                        "measured": f"plan: {plan[:160]}", "met": uses_index})
        notes.append(f"{backend}: bulk load took {loads[small]} s for {small:,} and {loads[large]} s for {large:,} "
                     "secrets (payloads sealed per version, as the API seals them)" + (
                         f"; the scheduler's merge of the search index's segments then took {merges[small]} s and "
                         f"{merges[large]} s (steps paced at half the writer's time)." if backend == "sqlite" else ".")
                     )
        raw[f"{backend} rss_kib"] = rss
        raw[f"{backend} due_plan"] = plan
    notes.append(f"A warm-up round, then {opts.rounds} rounds; each round runs every operation on the small then the large store, up to "
                 f"{count} sequential requests or {opts.seconds:.0f} s each (searches and gets for secrets no earlier round asked for); p50/p99 per round, median (min–max) over "
                 "rounds. HTTP operations go through `certkeeper serve`; due rotations call the store in-process.")
    return {"id": 5, "title": TITLE, "table": table, "raw": raw, "targets": targets, "notes": notes}


def _tabulate(backend: str, small: int, large: int, samples: dict[tuple[str, int], list[list[float]]],
              table: list[dict[str, Any]], raw: dict[str, Any], targets: list[dict[str, Any]]) -> None:
    for op_name in dict.fromkeys(op for op, _ in samples):
        row: dict[str, Any] = {"backend": backend, "operation": op_name}
        for stat in (50, 99):
            by_size = {size: [percentile(lat, stat) for lat in samples[(op_name, size)]] for size in (small, large)}
            per = ratios(by_size[large], by_size[small])
            row[f"p{stat} ms {small:,}"] = spread(by_size[small], 2)
            row[f"p{stat} ms {large:,}"] = spread(by_size[large], 2)
            row[f"p{stat} large÷small per round"] = per_round(per)
            med = summary(per)["median"]
            targets.append({"target": f"{backend} {op_name} p{stat} at {large:,} within 2x of {small:,}",
                            "measured": f"{med:.2f}x", "met": med <= 2})
        raw[f"{backend} {op_name}"] = {str(size): samples[(op_name, size)] for size in (small, large)}
        table.append(row)
