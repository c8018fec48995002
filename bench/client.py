"""A small blocking JSON client on one keep-alive connection (stdlib http.client): setup
calls, and sequential latency probes bounded in count and time."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

TIMEOUT_S = 60


class Client:
    def __init__(self, base: str, token: str | None = None) -> None:
        parts = urlsplit(base)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=TIMEOUT_S)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, expect: int | tuple[int, ...] = (200, 201)) -> Any:
        payload = json.dumps(body).encode() if body is not None else None
        try:
            resp = self._send(method, path, payload)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed an idle keep-alive connection (uvicorn does after 5 s): reconnect once.
            self._conn.close()
            resp = self._send(method, path, payload)
        data = resp.read()
        if resp.status not in ((expect,) if isinstance(expect, int) else expect):
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:500]!r}")
        return json.loads(data) if data else None

    def _send(self, method: str, path: str, payload: bytes | None) -> http.client.HTTPResponse:
        self._conn.request(method, path, body=payload, headers=self.headers)
        return self._conn.getresponse()

    def post(self, path: str, body: Any) -> Any:
        return self.call("POST", path, body)

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def close(self) -> None:
        self._conn.close()


def probe(call: Callable[[int], object], *, count: int, max_seconds: float) -> list[float]:
    """Latencies (ms) of ``call(i)`` run one after another, at most ``count`` times and
    ``max_seconds`` long (at least one call)."""
    out: list[float] = []
    deadline = time.monotonic() + max_seconds
    for i in range(count):
        start = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - start) * 1000)
        if time.monotonic() > deadline:
            break
    return out
