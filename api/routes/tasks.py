"""A secret's tasks: /api/v2/secrets/{secret_id}/tasks[/{id}]."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import render
from lifecycle import task_views
from lifecycle.core import Actor, Core


async def list_tasks(request: Request, core: Core, actor: Actor) -> Response:
    rows = task_views.list_secret_tasks(core, actor, request.path_params["secret_id"])
    return JSONResponse({"tasks": [render.task(t) for t in rows], "total_count": len(rows)})


async def get_task(request: Request, core: Core, actor: Actor) -> Response:
    p = request.path_params
    return JSONResponse(render.task(task_views.get_secret_task(core, actor, p["secret_id"], p["id"])))
