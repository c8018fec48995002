"""Secret and version actions: /api/v2/secrets/{id}/actions and .../versions/{id}/actions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.schemas.configurations import SecretAction
from api.schemas.parsing import parse_body
from lifecycle import cert_actions
from lifecycle.core import Actor, Core


async def secret_action(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, SecretAction)
    result = cert_actions.run_action(core, actor, request.path_params["id"], None, body.model_dump())
    return JSONResponse(result, status_code=201)


async def version_action(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, SecretAction)
    p = request.path_params
    result = cert_actions.run_action(core, actor, p["secret_id"], p["id"], body.model_dump())
    return JSONResponse(result, status_code=201)
