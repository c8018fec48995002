"""Load from wrk (Debian's package): fixed connections for a fixed time on loopback, with the
server's CPU time read around the run. wrk is C and light, so on a 2-core machine the server
keeps a core to itself, which a Python client would take."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.proc import Server

SCRIPT = Path(__file__).parent / "lua" / "load.lua"
SLACK_S = 30  # wrk stops itself after -d; this only bounds a hung wrk


@dataclass(frozen=True, slots=True)
class Run:
    """One load run: successful requests per second, latency percentiles (ms), server CPU per request."""

    rps: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_us_per_req: float

    def as_dict(self) -> dict[str, float | int]:
        return {"rps": round(self.rps, 1), "requests": self.requests, "errors": self.errors,
                "p50_ms": round(self.p50_ms, 2), "p99_ms": round(self.p99_ms, 2),
                "cpu_us_per_req": round(self.cpu_us_per_req, 1)}


def run(server: Server, path: str, *, connections: int, seconds: float, headers: dict[str, str] | None = None,
        body_file: Path | None = None, prefix: str = "r") -> Run:
    """Drive ``server`` for ``seconds`` with ``connections`` keep-alive connections."""
    threads = min(2, connections)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(SCRIPT)]
    for key, value in (headers or {}).items():
        argv += ["-H", f"{key}: {value}"]
    argv += [server.base + path, "--", str(body_file) if body_file else "-", prefix]
    before = server.cpu()
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=seconds + SLACK_S)
    cpu = server.cpu() - before
    line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}")
    r = json.loads(line.removeprefix("BENCH_JSON "))
    errors = r["status_errors"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
    ok = max(0, r["requests"] - r["status_errors"])
    return Run(rps=ok / (r["duration_us"] / 1e6), requests=ok, errors=errors, p50_ms=r["p50_us"] / 1000,
               p99_ms=r["p99_us"] / 1000, cpu_us_per_req=cpu * 1e6 / ok if ok else float("nan"))
