"""certkeeper under test: `certkeeper serve` in its own process, on a fresh data dir, with
the background workers off (so only requests use its CPU) unless a benchmark needs them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.proc import Server, free_port

# Access logs off (as for a production log level); the peers log nothing per request either.
ENV = {"CERTKEEPER_LOG_LEVEL": "warning"}
# Throughput benchmarks serve with one process per core (`serve --processes`), as a deployment
# on this machine would and as the peers do (cfssl's Go runtime runs on every core).
PROCESSES = os.cpu_count() or 1


def command() -> list[str]:
    script = Path(sys.executable).parent / "certkeeper"
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


def server(name: str, data_dir: Path, *, database_url: str | None = None, workers: int = 0,
           processes: int = 1) -> Server:
    """A not yet started `certkeeper serve` on ``data_dir`` (created on start), in ``processes``
    server processes (over 1: uvicorn's supervisor and its children, whose CPU `Server.cpu` adds)."""
    port = free_port()
    argv = [*command(), "serve", "--data-dir", str(data_dir), "--port", str(port), "--workers", str(workers),
            "--processes", str(processes)]
    if database_url:
        argv += ["--database-url", database_url]
    return Server(name, argv, port, data_dir.parent / f"{name}.log", env=ENV)


def worker(name: str, data_dir: Path, *, database_url: str | None = None, threads: int = 1,
           env: dict[str, str] | None = None) -> Server:
    """A not yet started `certkeeper worker` (background workers and the scheduler, no API)."""
    argv = [*command(), "worker", "--data-dir", str(data_dir), "--threads", str(threads)]
    if database_url:
        argv += ["--database-url", database_url]
    log = data_dir.parent / f"{name}.log"
    log.unlink(missing_ok=True)  # readiness is read from this run's log
    return Server(name, argv, 0, log, env={**ENV, **(env or {})}, ready_line="certkeeper worker:")


def admin_token(data_dir: Path) -> str:
    return (data_dir / "admin-token").read_text().strip()
