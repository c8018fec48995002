"""Benchmark 4: secret read throughput. GET /api/v2/secrets/{id} of a kv secret (token check,
decrypt, audit event) against a trivial Starlette JSON endpoint under the same uvicorn
configuration (the framework ceiling), rounds interleaved."""

from __future__ import annotations

import sys
from typing import Any

from bench import certkeeper, peers, wrk
from bench.client import Client
from bench.options import Options
from bench.proc import Server, free_port
from bench.report import per_round, spread
from bench.stats import ratios, summary

TITLE = "Secret read throughput (GET /api/v2/secrets/{id}, kv) vs the framework ceiling"
CONNECTIONS = 8
TARGET = 0.5


def run(opts: Options) -> dict[str, Any]:
    peers.ensure(["wrk"])
    data_dir = opts.work / "reads" / "data"
    data_dir.parent.mkdir(parents=True)
    ceiling_port = free_port()
    ceiling = Server("ceiling", [sys.executable, "-m", "bench.ceiling_app", str(ceiling_port),
                                 str(certkeeper.PROCESSES)], ceiling_port, data_dir.parent / "ceiling.log")
    runs: dict[str, list[wrk.Run]] = {"certkeeper": [], "ceiling": []}
    with certkeeper.server("certkeeper", data_dir, processes=certkeeper.PROCESSES) as ours, ceiling:
        token = certkeeper.admin_token(data_dir)
        client = Client(ours.base, token)
        secret = client.post("/api/v2/secrets", {"secret_type": "kv", "name": "bench-config",
                                                 "data": {"url": "postgres://db:5432/app", "pool": 10, "debug": False}})
        client.close()
        path = f"/api/v2/secrets/{secret['id']}"
        headers = {"Authorization": f"Bearer {token}"}
        for server in (ours, ceiling):
            wrk.run(server, path, connections=CONNECTIONS, seconds=1, headers=headers)  # warm-up
        for _ in range(opts.rounds):
            runs["certkeeper"].append(wrk.run(ours, path, connections=CONNECTIONS, seconds=opts.seconds, headers=headers))
            runs["ceiling"].append(wrk.run(ceiling, path, connections=CONNECTIONS, seconds=opts.seconds, headers=headers))
    per = ratios([r.rps for r in runs["certkeeper"]], [r.rps for r in runs["ceiling"]])
    table = [{"server": name, "req/s": spread([r.rps for r in rs], 0), "p50 ms": spread([r.p50_ms for r in rs], 2),
              "p99 ms": spread([r.p99_ms for r in rs], 2), "CPU µs/req": spread([r.cpu_us_per_req for r in rs], 0),
              "errors": sum(r.errors for r in rs), "÷ ceiling per round": per_round(per) if name == "certkeeper" else ""}
             for name, rs in runs.items()]
    med = summary(per)["median"]
    return {"id": 4, "title": TITLE, "table": table,
            "raw": {name: [r.as_dict() for r in rs] for name, rs in runs.items()},
            "targets": [{"target": "≥ 50% of the framework ceiling", "measured": f"{med:.0%}", "met": med >= TARGET}],
            "notes": [f"{opts.rounds} rounds of {opts.seconds:.0f} s each, {CONNECTIONS} connections, wrk on loopback; "
                      "both servers send the same Authorization header; both run "
                      f"{certkeeper.PROCESSES} server processes (one per core)."]}
