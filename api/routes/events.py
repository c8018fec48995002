"""Events and webhooks: /api/v2/events, /api/v2/webhooks[/{id}[/deliveries]] (certkeeper extensions)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import render
from api.routes.query import int_param, list_param
from api.schemas.parsing import parse_body
from api.schemas.secrets import WebhookPrototype
from lifecycle import events, webhooks
from lifecycle.core import Actor, Core
from lifecycle.errors import InvalidInput


async def list_events(request: Request, core: Core, actor: Actor) -> Response:
    since_text = request.query_params.get("since")
    try:
        since = datetime.fromisoformat(since_text.replace("Z", "+00:00")) if since_text else None
    except ValueError:
        raise InvalidInput("since: not an RFC 3339 time", field="since") from None
    if since is not None and since.tzinfo is None:
        raise InvalidInput("since: must include a time zone", field="since")
    try:
        since = since.astimezone(UTC) if since is not None else None
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past the year 9999 in UTC
        raise InvalidInput("since: out of range", field="since") from None
    after = request.query_params.get("after_id")
    rows = events.list_events(
        core, actor, event_types=list_param(request, "event_type"), secret_id=request.query_params.get("secret_id"),
        since=since, after_id=int_param(request, "after_id", 0) if after else None, limit=int_param(request, "limit", 100),
    )
    return JSONResponse({"events": [render.event(e) for e in rows], "total_count": len(rows)})


async def create_webhook(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, WebhookPrototype)
    registered = webhooks.register(core, actor, body.url, body.event_types, body.description,
                                   allow_private=core.allow_private_webhooks)
    return JSONResponse(render.webhook(registered.webhook) | {"signing_key": registered.signing_key}, status_code=201)


async def list_webhooks(request: Request, core: Core, actor: Actor) -> Response:
    hooks = webhooks.list_webhooks(core)
    return JSONResponse({"webhooks": [render.webhook(h) for h in hooks], "total_count": len(hooks)})


async def delete_webhook(request: Request, core: Core, actor: Actor) -> Response:
    webhooks.delete_webhook(core, actor, request.path_params["id"])
    return Response(status_code=204)


async def list_deliveries(request: Request, core: Core, actor: Actor) -> Response:
    rows = webhooks.deliveries(core, request.path_params["id"])
    return JSONResponse({"deliveries": [render.task(t) | {"event_id": t.params.get("event_id")} for t in rows]})
