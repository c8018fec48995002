"""PostgreSQL connections give up instead of hanging: libpq waits forever by default for a
server that accepts connections and never answers (a stalled primary, a half-open failover)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

import pytest
from sqlalchemy import event, text

from fixtures.databases import postgres_url
from lifecycle.store.engine import POSTGRES_CONNECT_DEFAULTS, make_engine, postgres_connect_args


def _connect_params(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    seen: dict[str, Any] = {}

    @event.listens_for(engine, "do_connect")
    def capture(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        seen.update(cparams)

    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    return seen


@pytest.mark.usefixtures("require_postgres")
def test_connections_time_out_and_probe_the_server_unless_the_url_says_otherwise() -> None:
    given = _connect_params(postgres_url())
    assert {k: given[k] for k in POSTGRES_CONNECT_DEFAULTS} == POSTGRES_CONNECT_DEFAULTS
    separator = "&" if "?" in postgres_url() else "?"
    told = _connect_params(postgres_url() + f"{separator}connect_timeout=3&keepalives_idle=7")
    assert str(told["connect_timeout"]) == "3" and str(told["keepalives_idle"]) == "7"
    assert told["tcp_user_timeout"] == POSTGRES_CONNECT_DEFAULTS["tcp_user_timeout"]


def test_a_libpq_service_or_pgconnect_timeout_keeps_its_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    assert postgres_connect_args("postgresql+psycopg:///?service=prod") == {}
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "60")
    args = postgres_connect_args("postgresql+psycopg://u@db.example/ck")
    assert "connect_timeout" not in args and args["keepalives"] == 1


@pytest.mark.slow
def test_serve_against_a_server_that_never_answers_gives_up_in_one_line(tmp_path: Any) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nothing ever speaks
    port = silent.getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "api.cli", "serve", "--data-dir", str(tmp_path / "data"), "--port", str(free),
             "--database-url", f"postgresql+psycopg://certkeeper:hunter2@127.0.0.1:{port}/test"],
            capture_output=True, text=True, timeout=60)
    finally:
        silent.close()
    took = time.monotonic() - started
    assert result.returncode == 2 and result.stderr.startswith("certkeeper: cannot open the database: "), result.stderr
    assert took < POSTGRES_CONNECT_DEFAULTS["connect_timeout"] * 3 + 15, f"gave up only after {took:.0f} s"
    assert "hunter2" not in result.stderr + result.stdout
