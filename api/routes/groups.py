"""Secret groups: /api/v2/secret_groups."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import render
from api.schemas.parsing import parse_body
from api.schemas.secrets import GroupPatch, GroupPrototype
from lifecycle import groups
from lifecycle.core import Actor, Core


async def create_group(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, GroupPrototype)
    return JSONResponse(render.group(groups.create_group(core, actor, body.name, body.description)), status_code=201)


async def list_groups(request: Request, core: Core, actor: Actor) -> Response:
    items = [render.group(g) for g in groups.list_groups(core, actor)]
    return JSONResponse({"secret_groups": items, "total_count": len(items)})


async def get_group(request: Request, core: Core, actor: Actor) -> Response:
    return JSONResponse(render.group(groups.get_group(core, actor, request.path_params["id"])))


async def update_group(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, GroupPatch)
    patch = body.model_dump(exclude_unset=True)
    return JSONResponse(render.group(groups.update_group(core, actor, request.path_params["id"], patch)))


async def delete_group(request: Request, core: Core, actor: Actor) -> Response:
    groups.delete_group(core, actor, request.path_params["id"])
    return Response(status_code=204)
