"""GET /health: 200 while the store answers, 503 when it does not. No token needed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lifecycle.core import Actor, Core


async def health(request: Request, core: Core, actor: Actor) -> Response:
    if core.store.ping():
        return JSONResponse({"status": "ok", "store": core.store.backend})
    return JSONResponse({"status": "unavailable", "store": core.store.backend}, status_code=503)
