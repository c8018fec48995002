"""Benchmark 1: private certificate issuance over HTTP, certkeeper (EC P-256 key made on the
server, sealed and stored; SQLite and PostgreSQL) against `cfssl serve` newcert without and
with its SQLite certdb, at 8 and 32 connections, rounds interleaved. Then two variants at 8
connections on the SQLite store against plain cfssl: signing a client CSR (cfssl `sign`) and
RSA-2048 keys made by the server (cfssl `newcert`)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import certkeeper, cfssl, peers, pki, wrk
from bench.client import Client
from bench.options import Options
from bench.proc import Server
from bench.report import per_round, spread
from bench.stats import ratios, summary

TITLE = "Private certificate issuance over HTTP (EC P-256 and RSA-2048 server-side keys, client CSRs)"
CONCURRENCY = (8, 32)
NEWCERT = "/api/v1/cfssl/newcert"
SIGN = "/api/v1/cfssl/sign"
SECRETS = "/api/v2/secrets"
PEER, PEER_DB, OURS = "cfssl", "cfssl-certdb", "certkeeper-sqlite"
ONE_PROCESS = "certkeeper-sqlite-1p"  # the same with one server process: what `--processes` buys
MAIN = "EC P-256 key made by the server"
CSR, RSA = "client CSR (EC P-256)", "RSA-2048 key made by the server"
VARIANT_CONNECTIONS = 8


def _variant_bodies(work: Path) -> dict[str, tuple[Path, str, Path]]:
    """variant -> (certkeeper body file, cfssl path, cfssl body file)."""
    csr = pki.csr_pem()
    specs = {CSR: (pki.csr_body("{{n}}", csr), SIGN, cfssl.sign_body(csr)),
             RSA: (pki.issue_body("{{n}}", pki.TEMPLATE_RSA), NEWCERT, cfssl.newcert_body("rsa", 2048))}
    out = {}
    for i, (variant, (ours, path, theirs)) in enumerate(specs.items()):
        (work / f"variant{i}-certkeeper.json").write_text(json.dumps(ours))
        (work / f"variant{i}-cfssl.json").write_text(json.dumps(theirs))
        out[variant] = (work / f"variant{i}-certkeeper.json", path, work / f"variant{i}-cfssl.json")
    return out


def _servers(opts: Options, stack: ExitStack) -> dict[str, tuple[Server, str, dict[str, str]]]:
    """name -> (started server, path, headers), in the order each round runs them."""
    out: dict[str, tuple[Server, str, dict[str, str]]] = {}
    stores = [(OURS, None, certkeeper.PROCESSES), (ONE_PROCESS, None, 1)]
    if opts.postgres:
        from fixtures.databases import postgres_schema

        url, _schema = stack.enter_context(postgres_schema())
        stores.append(("certkeeper-postgres", url, certkeeper.PROCESSES))
    for name, url, processes in stores:
        data_dir = opts.work / name / "data"
        data_dir.parent.mkdir(parents=True)
        server = stack.enter_context(certkeeper.server(name, data_dir, database_url=url, processes=processes))
        token = certkeeper.admin_token(data_dir)
        client = Client(server.base, token)
        pki.set_up(client)
        client.close()
        out[name] = (server, SECRETS, {"Authorization": f"Bearer {token}"})
    for name, certdb in ((PEER, False), (PEER_DB, True)):
        out[name] = (stack.enter_context(cfssl.server(name, opts.work / name, certdb=certdb)), NEWCERT, {})
    order = [OURS, PEER, ONE_PROCESS, "certkeeper-postgres", PEER_DB]
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
        variants = _variants(opts, servers)
        stored = _stored(servers)
    stored[PEER_DB] = cfssl.stored_certificates(opts.work / PEER_DB)
    result = _result(opts, runs, stored)
    result["table"] += _variant_rows(variants)
    result["raw"] |= {f"{name} {variant}": [r.as_dict() for r in rs]
                      for variant, by_name in variants.items() for name, rs in by_name.items()}
    return result


def _variants(opts: Options, servers: dict[str, tuple[Server, str, dict[str, str]]]) -> dict[str, dict[str, list[wrk.Run]]]:
    """The CSR and RSA variants, ours and cfssl's runs interleaved round by round."""
    out: dict[str, dict[str, list[wrk.Run]]] = {}
    bodies = _variant_bodies(opts.work)
    ours, _path, headers = servers[OURS]
    peer = servers[PEER][0]
    for r in range(opts.rounds + 1):  # round 0 warms up (template and CA caches, imports) and is not kept
        for v, (variant, (our_body, peer_path, peer_body)) in enumerate(bodies.items()):
            seconds = 1 if r == 0 else opts.seconds
            pair = {OURS: wrk.run(ours, SECRETS, connections=VARIANT_CONNECTIONS, seconds=seconds, headers=headers,
                                  body_file=our_body, prefix=f"variant{v}-r{r}"),
                    PEER: wrk.run(peer, peer_path, connections=VARIANT_CONNECTIONS, seconds=seconds, body_file=peer_body)}
            if r:
                for name, run in pair.items():
                    out.setdefault(variant, {}).setdefault(name, []).append(run)
    return out


def _variant_rows(variants: dict[str, dict[str, list[wrk.Run]]]) -> list[dict[str, Any]]:
    rows = []
    for variant, by_name in variants.items():
        per = ratios([r.rps for r in by_name[OURS]], [r.rps for r in by_name[PEER]])
        for name, rs in by_name.items():
            rows.append(_row(variant, name, VARIANT_CONNECTIONS, rs) | {
                f"÷ {PEER} per round": per_round(per) if name == OURS else "", f"÷ {PEER_DB} per round": ""})
    return rows


def _row(request: str, name: str, conc: int, rs: list[wrk.Run]) -> dict[str, Any]:
    return {"request": request, "server": name, "connections": conc, "req/s": spread([r.rps for r in rs], 0),
            "p50 ms": spread([r.p50_ms for r in rs]), "p99 ms": spread([r.p99_ms for r in rs]),
            "CPU µs/req": spread([r.cpu_us_per_req for r in rs], 0), "errors": sum(r.errors for r in rs)}


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
            row = _row(MAIN, name, conc, rs)
            for peer in (PEER, PEER_DB):
                row[f"÷ {peer} per round"] = ""
                if name.startswith("certkeeper") and peer in runs:
                    ratio_of[(name, peer, conc)] = ratios(rps, [r.rps for r in runs[peer][conc]])
                    row[f"÷ {peer} per round"] = per_round(ratio_of[(name, peer, conc)])
            table.append(row)
            raw[f"{name} c={conc}"] = [r.as_dict() for r in rs]
    ceiling = opts.context.get("crypto_ceiling_ops")
    return {"id": 1, "title": TITLE, "table": table, "raw": raw, "stored_certificates": stored,
            "targets": _targets(runs, ratio_of, ceiling),
            "notes": [f"{opts.rounds} rounds of {opts.seconds:.0f} s per server and concurrency, order "
                      f"{', '.join(runs)}; wrk on loopback; CPU is utime+stime of the server's processes. "
                      f"certkeeper serves with `--processes {certkeeper.PROCESSES}` (one per core), "
                      f"{ONE_PROCESS} with one.",
                      "Stored after the run (certkeeper: secrets in the store; cfssl-certdb: rows in certdb): "
                      + ", ".join(f"{k} {v}" for k, v in stored.items()) + "; plain cfssl stores nothing.",
                      f"Variants ({CSR}; {RSA}): {VARIANT_CONNECTIONS} connections, certkeeper on SQLite against plain "
                      f"cfssl (`sign` for the CSR, `newcert` with an RSA-2048 key), {opts.rounds} rounds after a "
                      "warm-up round; the main table's targets are for the EC P-256 rows."]}


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
