"""GET /health: 200 while the store answers and can take writes, 503 when it cannot. No token
needed. For a readiness check: a full disk under a SQLite store fails writes and reads of secret
data (each commits an audit event) while everything else still answers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lifecycle.core import Actor, Core

# Below this, SQLite cannot be counted on for the next commit (its WAL grows before it checkpoints).
LOW_DISK_BYTES = 1 << 20


async def health(request: Request, core: Core, actor: Actor) -> Response:
    body: dict[str, object] = {"status": "ok", "store": core.store.backend}
    if not core.store.ping():
        return JSONResponse(body | {"status": "unavailable"}, status_code=503)
    free = core.store.disk_free_bytes()
    if free is None:
        return JSONResponse(body)
    body["disk_free_bytes"] = free
    if free < LOW_DISK_BYTES:
        reason = (f"the database's filesystem has {free} bytes free: writes and reads of secret data fail "
                  "until it has room")
        return JSONResponse(body | {"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse(body)
