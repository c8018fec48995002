"""Worker processes against one database: every due rotation runs exactly once, and a
worker killed with SIGKILL mid-rotation loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from fixtures.databases import postgres_schema
from fixtures.live_server import free_port
from fixtures.private_pki import TEMPLATE, make_private_pki
from lifecycle import secrets
from lifecycle.bootstrap import open_data_dir
from lifecycle.core import SYSTEM, Core
from lifecycle.secrets import SecretDraft
from lifecycle.store import schema as t

pytestmark = pytest.mark.slow
WAIT_S = 180
POLICY = {"auto_rotate": True, "interval": 1, "unit": "day", "rotate_immediately": True}


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll a condition with a bound; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def _workers(data_dir: Path, url: str, count: int, env: dict[str, str] | None = None) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--data-dir", str(data_dir), "--database-url", url, "--threads", "2"],
        env={**os.environ, "CERTKEEPER_SCHEDULER_INTERVAL": "0.2", "CERTKEEPER_TASK_LEASE": "3", **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _count(core: Core, query: object) -> int:
    with core.store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())  # type: ignore[call-overload]


def _rotations_done(core: Core) -> int:
    k = t.tasks.c
    return _count(core, select(func.count()).select_from(t.tasks).where(k.kind == "rotation", k.status == "succeeded"))


def _versions_each(core: Core, ids: list[str]) -> set[int]:
    """The distinct numbers of versions the secrets hold."""
    v = t.secret_versions.c
    with core.store.engine.connect() as conn:
        counts = dict(conn.execute(select(v.secret_id, func.count()).group_by(v.secret_id)).all())
    return {counts.get(i, 0) for i in ids}


@pytest.fixture
def pg_core(tmp_path: Path, require_postgres: None) -> Iterator[tuple[Core, str]]:
    with postgres_schema() as (url, _schema):
        core = open_data_dir(tmp_path, database_url=url, env_root_key=None, create=True).core
        yield core, url
        core.store.dispose()


def test_four_worker_processes_rotate_a_thousand_secrets_exactly_once(pg_core, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core, url = pg_core
    ids = [secrets.create_secret(core, SYSTEM, SecretDraft("username_password", f"svc-{i:04}", fields={
        "username": f"u{i}", "rotation": POLICY})).secret.id for i in range(1000)]
    with _workers(tmp_path, url, 4):
        _wait_for(lambda: _rotations_done(core) >= 1000, "1000 rotations to succeed")
    assert _versions_each(core, ids) == {2}  # none missed, none rotated twice
    assert _rotations_done(core) == 1000
    k = t.tasks.c
    assert _count(core, select(func.count()).select_from(t.tasks).where(k.status != "succeeded")) == 0


def test_two_worker_processes_rotate_private_certificates_exactly_once(pg_core, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Private certificates take the planned path (rotated dry, then replayed) under real
    concurrency: two processes, each with its scheduler, on one database."""
    core, url = pg_core
    make_private_pki(core)
    ids = [secrets.create_secret(core, SYSTEM, SecretDraft("private_cert", f"cert-{i:03}", fields={
        "certificate_template": TEMPLATE, "common_name": f"c{i}.example.test", "ttl": "720h", "rotation": POLICY,
    })).secret.id for i in range(300)]
    with _workers(tmp_path, url, 2):
        _wait_for(lambda: _rotations_done(core) >= 300, "300 certificate rotations to succeed")
    assert _versions_each(core, ids) == {2}  # none missed, none rotated twice
    serials = {secrets.get_secret(core, SYSTEM, i, with_payload=False).secret.attributes["serial_number"] for i in ids}
    assert len(serials) == 300


def test_worker_killed_mid_rotation_loses_nothing(pg_core, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    core, url = pg_core
    secret_id = secrets.create_secret(core, SYSTEM, SecretDraft("username_password", "crashy", fields={
        "username": "app", "rotation": POLICY})).secret.id
    marker = tmp_path / "paused"
    with _workers(tmp_path, url, 1, env={"CERTKEEPER_TEST_HOOK": f"pause-before-commit:{marker}"}) as (doomed,):
        _wait_for(marker.exists, "the worker to reach the pause inside the rotation")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
    assert _rotations_done(core) == 0
    with _workers(tmp_path, url, 1):
        _wait_for(lambda: _rotations_done(core) == 1, "another worker to finish the abandoned rotation")
    with core.store.reader() as tx:
        task = tx.list_tasks(secret_id)[0]
        versions = tx.list_versions(secret_id)
    assert len(versions) == 2 and task.attempts == 2
    assert secrets.get_secret(core, SYSTEM, secret_id, with_payload=True).data["username"] == "app"  # type: ignore[index]


def test_serve_runs_workers_and_the_scheduler(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--data-dir", str(tmp_path), "--port", str(port), "--workers", "1"],
        env={**os.environ, "CERTKEEPER_SCHEDULER_INTERVAL": "0.2"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: (tmp_path / "admin-token").exists() and _up(base), "the server to start", 30)
        headers = {"Authorization": f"Bearer {(tmp_path / 'admin-token').read_text().strip()}"}
        created = httpx.post(f"{base}/api/v2/secrets", headers=headers, json={
            "secret_type": "username_password", "name": "auto", "username": "app", "rotation": POLICY}).json()
        _wait_for(lambda: httpx.get(f"{base}/api/v2/secrets/{created['id']}/metadata", headers=headers).json()
                  ["versions_total"] == 2, "the scheduled rotation", 30)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
