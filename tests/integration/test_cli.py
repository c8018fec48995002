"""The `certkeeper` command as a user runs it: serve, token create, rekey."""

from __future__ import annotations

import os
import re
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bench.proc import alive, descendants
from fixtures.live_server import free_port
from lifecycle import secrets
from lifecycle.bootstrap import open_data_dir
from lifecycle.core import SYSTEM
from lifecycle.keyfiles import load_keyring
from lifecycle.rekey import rekey
from lifecycle.secrets import SecretDraft

pytestmark = pytest.mark.slow
STARTUP_TIMEOUT_S = 20


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def _start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _wait_healthy(proc: subprocess.Popen[str], port: int) -> list[str]:
    """Read the server's output until uvicorn says it is up; bounded by the subprocess timeout."""
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "Uvicorn running" in line:
            break
    else:
        raise AssertionError("server exited before it started:\n" + "".join(lines))
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=STARTUP_TIMEOUT_S).status_code == 200
    return lines


def test_first_start_creates_admin_token_once_and_it_works(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    proc = _start(data, port)
    try:
        output = "".join(_wait_healthy(proc, port))
        token_file = data / "admin-token"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert output.count(token) == 1
        resp = httpx.post(f"http://127.0.0.1:{port}/api/v2/secrets", headers={"Authorization": f"Bearer {token}"},
                          json={"secret_type": "arbitrary", "name": "cli-test", "payload": "x"})
        assert resp.status_code == 201
    finally:
        proc.terminate()
        proc.communicate(timeout=STARTUP_TIMEOUT_S)
    port2 = free_port()
    proc = _start(data, port2)
    try:
        second = "".join(_wait_healthy(proc, port2))
        assert token not in second and "First start" not in second
    finally:
        proc.terminate()
        proc.communicate(timeout=STARTUP_TIMEOUT_S)


class _Lines:
    """A server's output, read in a thread so a test can wait for a line with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        self._stdout = proc.stdout
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stdout:
            self._queue.put(line)
        self._queue.put(None)

    def close(self) -> None:
        """After the server exited: the reader has met the end of its output."""
        self._reader.join(timeout=STARTUP_TIMEOUT_S)
        self._stdout.close()

    def wait_for(self, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while sum(text in line for line in self.seen) < count:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {count} x {text!r} within {STARTUP_TIMEOUT_S} s:\n" + "".join(self.seen)) from None
            if line is None:
                raise AssertionError(f"server exited before {count} x {text!r}:\n" + "".join(self.seen))
            self.seen.append(line)


def _server_processes(pid: int) -> set[int]:
    """The server processes under a `serve --processes N` supervisor (not multiprocessing's tracker)."""
    out = set()
    for child in descendants(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.add(child)
        except OSError:  # exited meanwhile
            continue
    return out


def test_serve_with_two_processes_shares_the_port_and_the_store(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    proc = _serve_two_processes(data, port)
    lines = _Lines(proc)
    try:
        lines.wait_for("Application startup complete", count=2)
        token = (data / "admin-token").read_text().strip()
        assert "".join(lines.seen).count(token) == 1  # the data dir was opened once, by the supervisor
        started = [line for line in lines.seen if "Application startup complete" in line]
        assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO uvicorn.error: ", line) for line in started), started
        children = _server_processes(proc.pid)
        assert len(children) == 2
        base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}

        def create(i: int) -> int:
            with httpx.Client(base_url=base, headers=auth, timeout=STARTUP_TIMEOUT_S) as client:  # a connection each
                return client.post("/api/v2/secrets", json={"secret_type": "arbitrary", "name": f"mp-{i:02}",
                                                            "payload": f"v{i}"}).status_code

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(create, range(24))) == [201] * 24
        listed = httpx.get(f"{base}/api/v2/secrets", params={"limit": 100}, headers=auth, timeout=STARTUP_TIMEOUT_S)
        assert sorted(s["name"] for s in listed.json()["secrets"]) == [f"mp-{i:02}" for i in range(24)]

        # A server process that dies is replaced; the service answers throughout on the other.
        gone = min(children)
        os.kill(gone, signal.SIGKILL)
        assert httpx.get(f"{base}/health", timeout=STARTUP_TIMEOUT_S).status_code == 200
        lines.wait_for(f"Child process [{gone}] died")
        lines.wait_for("Application startup complete", count=3)
        replaced = _server_processes(proc.pid)
        assert len(replaced) == 2 and gone not in replaced
        assert httpx.get(f"{base}/health", timeout=STARTUP_TIMEOUT_S).status_code == 200
        everyone = descendants(proc.pid)
    finally:
        proc.terminate()
        _reap(proc)
    assert proc.returncode == 0
    lines.wait_for("Stopping parent process")
    lines.close()
    _assert_all_gone(everyone)


def test_serve_processes_stops_with_status_1_when_a_process_cannot_start(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    proc = _serve_two_processes(data, port)
    lines = _Lines(proc)
    try:
        lines.wait_for("Application startup complete", count=2)
        everyone = descendants(proc.pid)
        # The data dir goes away under a running server; the process that replaces a dead one
        # cannot open it. Before, the supervisor started it again every second, forever, and
        # exited 0 when told to stop.
        data.rename(tmp_path / "moved")
        os.kill(min(_server_processes(proc.pid)), signal.SIGKILL)
        proc.wait(timeout=STARTUP_TIMEOUT_S)
    finally:
        if proc.returncode is None:
            proc.terminate()
        _reap(proc)
    lines.wait_for("could not start (its reason is logged above); stopped")
    lines.close()
    output = "".join(lines.seen)
    assert proc.returncode == 1, output
    assert output.count("cannot start") == 1 and f"data dir {data} does not exist" in output, output
    assert "Traceback" not in output, output
    _assert_all_gone(everyone)


@pytest.mark.parametrize("processes", ["1", "2"])
def test_serve_on_an_unreachable_database_says_so_in_one_line(tmp_path: Path, processes: str) -> None:
    closed = f"postgresql+psycopg://certkeeper:hunter2@127.0.0.1:{free_port()}/test"  # nothing listens there
    result = _cli("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()), "--processes", processes,
                  "--database-url", closed)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("certkeeper: cannot open the database: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr + result.stdout


def test_a_worker_embeds_the_url_serve_embeds_unless_told_otherwise(tmp_path: Path) -> None:
    from api.cli import remember_public_url, worker_settings
    from api.settings import Settings

    served = Settings(data_dir=tmp_path, port=18201, public_url="http://127.0.0.1:18201")
    remember_public_url(served)
    assert worker_settings(Settings(data_dir=tmp_path)).public_url == "http://127.0.0.1:18201"
    told = Settings(data_dir=tmp_path, public_url="https://pki.example.com")
    assert worker_settings(told).public_url == "https://pki.example.com"
    assert worker_settings(Settings(data_dir=tmp_path / "elsewhere")).public_url is None  # the default then


def test_serve_holds_tasks_for_the_lease_its_settings_give(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from starlette.testclient import TestClient

    import api.app
    from api.cli import _app
    from api.settings import Settings

    leases = []

    class Pool:
        def __init__(self, *args: object, lease: timedelta, **kwargs: object) -> None:
            leases.append(lease)

        def start(self) -> None: ...

        def stop(self) -> None: ...

    monkeypatch.setattr(api.app, "WorkerPool", Pool)
    opened = open_data_dir(tmp_path, database_url=None, env_root_key=None, create=True)
    try:
        with TestClient(_app(Settings(data_dir=tmp_path, task_lease=42.0), opened.core)):
            pass
    finally:
        opened.core.store.dispose()
    assert leases == [timedelta(seconds=42)]


def _serve_two_processes(data: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--data-dir", str(data), "--port", str(port), "--processes", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def _reap(proc: subprocess.Popen[str]) -> None:
    try:
        proc.wait(timeout=STARTUP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: nothing is left running
        raise


def _assert_all_gone(pids: list[int]) -> None:
    """The supervisor stopped the whole tree (multiprocessing's resource tracker ends on its own,
    once it reads the end of its pipe: looked for until a deadline)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == [], f"still running {STARTUP_TIMEOUT_S} s after the supervisor exited: {left}"


def test_token_create_prints_a_working_scoped_token(tmp_path: Path) -> None:
    opened = open_data_dir(tmp_path, database_url=None, env_root_key=None, create=True)
    opened.core.store.dispose()
    result = _cli("token", "create", "--role", "reader", "--ttl", "24h", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("ck_")
    bad = _cli("token", "create", "--role", "emperor", "--data-dir", str(tmp_path))
    assert bad.returncode == 2 and "role 'emperor'" in bad.stderr
    missing = _cli("token", "create", "--role", "Reader", "--groups", "nope", "--data-dir", str(tmp_path))
    assert missing.returncode == 2 and "secret group 'nope'" in missing.stderr


def test_token_list_and_revoke_as_an_operator_uses_them(tmp_path: Path) -> None:
    from lifecycle import tokens
    from lifecycle.errors import Unauthenticated

    opened = open_data_dir(tmp_path, database_url=None, env_root_key=None, create=True)
    opened.core.store.dispose()
    token = _cli("token", "create", "--role", "Writer", "--description", "ci deploys", "--data-dir", str(tmp_path))
    _, token_id, secret_part = token.stdout.strip().split("_", 2)  # the secret part may hold "_" itself
    listed = _cli("token", "list", "--data-dir", str(tmp_path))
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(r[1], r[-1]) for r in rows] == [("Manager", "admin token created on first start"), ("Writer", "ci deploys")]
    assert rows[1][0] == token_id and rows[1][5] == "-"  # not revoked
    assert secret_part not in listed.stdout  # the secret part is never shown
    revoked = _cli("token", "revoke", token_id, "--data-dir", str(tmp_path))
    assert revoked.returncode == 0 and revoked.stdout.startswith(f"token {token_id} revoked at "), revoked.stderr
    assert _cli("token", "list", "--data-dir", str(tmp_path)).stdout.splitlines()[1].split("\t")[5] != "-"
    again = open_data_dir(tmp_path, database_url=None, env_root_key=None, create=False)
    try:
        with pytest.raises(Unauthenticated, match="revoked"):
            tokens.authenticate(again.core, token.stdout.strip(), again.core.clock())
    finally:
        again.core.store.dispose()
    unknown = _cli("token", "revoke", "nosuchtoken00000", "--data-dir", str(tmp_path))
    assert unknown.returncode == 2 and "token 'nosuchtoken00000' was not found" in unknown.stderr
    pasted_wrong = "ck_" + token_id + "-" + secret_part  # a typo: never echoed
    wrong = _cli("token", "revoke", pasted_wrong, "--data-dir", str(tmp_path))
    assert wrong.returncode == 2 and "16-character id" in wrong.stderr and pasted_wrong[10:] not in wrong.stderr


def test_settings_come_from_environment(tmp_path: Path) -> None:
    result = _cli("token", "create", "--role", "Reader", env={"CERTKEEPER_DATA_DIR": str(tmp_path / "absent")})
    assert result.returncode == 2 and str(tmp_path / "absent") in result.stderr


def test_rekey_rewraps_everything_and_resumes_after_interruption(tmp_path: Path) -> None:
    opened = open_data_dir(tmp_path, database_url=None, env_root_key=None, create=True)
    core = opened.core
    ids = [secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", f"s{i:02}", fields={"payload": f"value-{i}"})).secret.id
           for i in range(7)]
    old_kid = core.keyring.active_id
    # Interrupted: one batch of 3 rewrapped, then the process "dies".
    first = rekey(tmp_path, core.store, batch=3, max_batches=1)
    assert first.new_key and first.rewrapped == 3
    with core.store.reader() as tx:
        assert tx.count_versions_by_key() == {old_kid: 4, first.active_key_id: 3}
    resumed = rekey(tmp_path, core.store, batch=3)
    assert not resumed.new_key and resumed.active_key_id == first.active_key_id and resumed.rewrapped == 4
    keyring = load_keyring(tmp_path)
    from lifecycle.core import Core

    fresh = Core(store=core.store, keyring=keyring, clock=core.clock)
    values = {secrets.get_secret(fresh, SYSTEM, i, with_payload=True).data["payload"] for i in ids}  # type: ignore[index]
    assert values == {f"value-{i}" for i in range(7)}
    with core.store.reader() as tx:
        assert tx.count_versions_by_key() == {first.active_key_id: 7}
    again = rekey(tmp_path, core.store)
    assert again.new_key and again.active_key_id != first.active_key_id
    core.store.dispose()
