"""Server processes for the benchmarks: start, wait until they answer, read their CPU time
and memory from /proc, stop. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces): state
    first, so field N of stat(5) is at N - 3. Raises OSError once the process is gone."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2:].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), from /proc/<pid>/stat."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)


def alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie not yet reaped counts as exited)."""
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False


def descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (children, their children, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat(entry.name)[1])
        except OSError:  # exited meanwhile
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and every process under it (a supervisor's server processes)."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            total += cpu_seconds(p)
        except OSError:  # exited meanwhile
            continue
    return total


def memory_kib(pid: int) -> dict[str, int]:
    """Resident set size now (VmRSS) and its peak (VmHWM), in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


@dataclass
class Server:
    """One server process on 127.0.0.1:``port``, its output in ``log``; with ``ready_line``,
    a process that serves no port and is ready once its log shows that line."""

    name: str
    argv: Sequence[str]
    port: int
    log: Path
    env: dict[str, str] | None = None
    ready_path: str = "/"
    ready_line: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> Server:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(list(self.argv), stdout=out, stderr=subprocess.STDOUT,
                                            env={**os.environ, **(self.env or {})}, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}:\n"
                                   + self.log.read_text()[-2000:])
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not answer on port {self.port} within {START_TIMEOUT_S}s")
            time.sleep(0.05)  # polling a readiness probe, bounded by the deadline
        return self

    def _answers(self) -> bool:
        if self.ready_line is not None:
            return self.log.exists() and self.ready_line in self.log.read_text(errors="replace")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def cpu(self) -> float:
        return tree_cpu_seconds(self.pid)

    def memory(self) -> dict[str, int]:
        return memory_kib(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)  # its session: a supervisor's server processes too
            self.process.wait(STOP_TIMEOUT_S)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
