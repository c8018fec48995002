"""Benchmark 1: private certificate issuance over HTTP, certkeeper (EC P-256 key made on the
server, sealed and stored; SQLite and PostgreSQL) against `cfssl serve` newcert without and
with its SQLite certdb, at 8 and 32 connections, rounds interleaved."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

from bench import certkeeper, cfssl, peers, pki, wrk
from bench.client import Client
from bench.options import Options
from bench.proc import Server
from bench.report import per_round, spread
from bench.stats import ratios, summary

TITLE = "Private certificate issuance over HTTP (EC P-256, server-side key)"
CONCURRENCY = (8, 32)
NEWCERT = "/api/v1/cfssl/newcert"
SECRETS = "/api/v2/secrets"
PEER, PEER_DB, OURS = "cfssl", "cfssl-certdb", "certkeeper-sqlite"


def _servers(opts: Options, stack: ExitStack) -> dict[str, tuple[Server, str, dict[str, str]]]:
    """name -> (started server, path, headers), in the order each round runs them."""
    out: dict[str, tuple[Server, str, dict[str, str]]] = {}
    stores = [(OURS, None)]
    if opts.postgres:
        from fixtures.databases import postgres_schema

        url, _schema = stack.enter_context(postgres_schema())
        stores.append(("certkeeper-postgres", url))
    for name, url in stores:
        data_dir = opts.work / name / "data"
        data_dir.parent.mkdir(parents=True)
        server = stack.enter_context(certkeeper.server(name, data_dir, database_url=url))
        token = certkeeper.admin_token(data_dir)
        client = Client(server.base, token)
        pki.set_up(client)
        client.close()
        out[name] = (server, SECRETS, {"Authorization": f"Bearer {token}"})
    for name, certdb in ((PEER, False), (PEER_DB, True)):
        out[name] = (stack.enter_context(cfssl.server(name, opts.work / name, certdb=certdb)), NEWCERT, {})
    order = [OURS, PEER, "certkeeper-postgres", PEER_DB]
    return {name: out[name] for name in order if name in out}


def run(opts: Options) -> dict[str, Any]:
    peers.ensure(["wrk", "cfssl"])
    bodies = {"certkeeper": opts.work / "certkeeper-body.json", "cfssl": opts.work / "cfssl-body.json"}
    bodies["certkeeper"].write_text(json.dumps(pki.issue_body("{{n}}")))
    bodies["cfssl"].write_text(json.dumps(cfssl.newcert_body()))
    runs: dict[str, dict[int, list[wrk.Run]]] = {}
    with ExitStack() as stack:
        servers = _servers(opts, stack)

        def load(name: str, conc: int, seconds: float, prefix: str) -> wrk.Run:
            server, path, headers = servers[name]
            body = bodies["cfssl" if name.startswith("cfssl") else "certkeeper"]
            return wrk.run(server, path, connections=conc, seconds=seconds, headers=headers, body_file=body,
                           prefix=prefix)

        for name in servers:  # warm-up: imports, caches, connection pools, SQLite pages
            load(name, 8, 1, f"{name}-warm")
        for conc in CONCURRENCY:
            for r in range(opts.rounds):
                for name in servers:
                    runs.setdefault(name, {}).setdefault(conc, []).append(
                        load(name, conc, opts.seconds, f"{name}-c{conc}-r{r}"))
        stored = _stored(servers)
    stored[PEER_DB] = cfssl.stored_certificates(opts.work / PEER_DB)
    return _result(opts, runs, stored)


def _stored(servers: dict[str, tuple[Server, str, dict[str, str]]]) -> dict[str, int]:
    out = {}
    for name, (server, _path, headers) in servers.items():
        if name.startswith("certkeeper"):
            client = Client(server.base, headers["Authorization"].removeprefix("Bearer "))
            out[name] = int(client.get("/api/v2/secrets?limit=1")["total_count"])
            client.close()
    return out


def _result(opts: Options, runs: dict[str, dict[int, list[wrk.Run]]], stored: dict[str, int]) -> dict[str, Any]:
    table, raw = [], {}
    ratio_of: dict[tuple[str, str, int], list[float]] = {}
    for name, by_conc in runs.items():
        for conc, rs in by_conc.items():
            rps = [r.rps for r in rs]
            row = {"server": name, "connections": conc, "req/s": spread(rps, 0),
                   "p50 ms": spread([r.p50_ms for r in rs]), "p99 ms": spread([r.p99_ms for r in rs]),
                   "CPU µs/req": spread([r.cpu_us_per_req for r in rs], 0),
                   "errors": sum(r.errors for r in rs)}
            for peer in (PEER, PEER_DB):
                if name.startswith("certkeeper") and peer in runs:
                    ratio_of[(name, peer, conc)] = ratios(rps, [r.rps for r in runs[peer][conc]])
                    row[f"÷ {peer} per round"] = per_round(ratio_of[(name, peer, conc)])
            table.append(row)
            raw[f"{name} c={conc}"] = [r.as_dict() for r in rs]
    ceiling = opts.context.get("crypto_ceiling_ops")
    return {"id": 1, "title": TITLE, "table": table, "raw": raw, "stored_certificates": stored,
            "targets": _targets(runs, ratio_of, ceiling),
            "notes": [f"{opts.rounds} rounds of {opts.seconds:.0f} s per server and concurrency, order "
                      f"{', '.join(runs)}; wrk on loopback; CPU is utime+stime of the server process.",
                      "Stored after the run (certkeeper: secrets in the store; cfssl-certdb: rows in certdb): "
                      + ", ".join(f"{k} {v}" for k, v in stored.items()) + "; plain cfssl stores nothing."]}


def _targets(runs: dict[str, dict[int, list[wrk.Run]]], ratio_of: dict[tuple[str, str, int], list[float]],
             ceiling: float | None) -> list[dict[str, Any]]:
    out = []
    for peer, want in ((PEER, 1.5), (PEER_DB, 10.0)):
        for conc in CONCURRENCY:
            got = ratio_of.get((OURS, peer, conc))
            if got:
                med = summary(got)["median"]
                out.append({"target": f"≥ {want}x {peer} at {conc} connections", "measured": f"{med:.2f}x",
                            "met": med >= want})
    if OURS in runs and 32 in runs[OURS]:
        ours = runs[OURS][32]
        p99 = summary([r.p99_ms for r in ours])["median"]
        out.append({"target": "p99 ≤ 50 ms at 32 connections", "measured": f"{p99:.1f} ms", "met": p99 <= 50})
        cpu = max(summary([r.cpu_us_per_req for r in rs])["median"] for rs in runs[OURS].values())
        out.append({"target": "≤ 400 server CPU-µs per issuance", "measured": f"{cpu:.0f} µs", "met": cpu <= 400})
        if ceiling:
            frac = summary([r.rps for r in ours])["median"] / ceiling
            out.append({"target": "≥ 40% of the in-process crypto ceiling (2)", "measured": f"{frac:.0%}",
                        "met": frac >= 0.4})
    return out
