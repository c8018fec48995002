"""Rotation and stage labels (certkeeper extensions): /rotate, /stages, /random_password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.routes.query import bool_param, int_param
from api.schemas.parsing import parse_body
from api.schemas.secrets import RotateRequest, StageMove
from lifecycle import passwords, stages
from lifecycle.core import Actor, Core
from lifecycle.errors import InvalidInput
from lifecycle.rotate import rotate

RANDOM_PASSWORD_MIN, RANDOM_PASSWORD_MAX = 8, 256  # GET /random_password's length


async def rotate_secret(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, RotateRequest, optional=True)  # no body: rotate with the defaults
    result = rotate(core, actor, request.path_params["id"], client_request_token=body.client_request_token,
                    version_stages=body.version_stages)
    return JSONResponse({"version_id": result.version_id, "task_id": result.task_id}, status_code=201)


async def list_stages(request: Request, core: Core, actor: Actor) -> Response:
    labels = stages.list_stages(core, actor, request.path_params["id"])
    return JSONResponse({"stages": [{"stage": k, "version_id": v} for k, v in sorted(labels.items())]})


async def move_stage(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, StageMove)
    p = request.path_params
    labels = stages.move_stage(core, actor, p["id"], p["stage"], body.version_id)
    return JSONResponse({"stages": [{"stage": k, "version_id": v} for k, v in sorted(labels.items())]})


async def remove_stage(request: Request, core: Core, actor: Actor) -> Response:
    p = request.path_params
    labels = stages.remove_stage(core, actor, p["id"], p["stage"])
    return JSONResponse({"stages": [{"stage": k, "version_id": v} for k, v in sorted(labels.items())]})


async def random_password(request: Request, core: Core, actor: Actor) -> Response:
    length = int_param(request, "length", 32)
    if not RANDOM_PASSWORD_MIN <= length <= RANDOM_PASSWORD_MAX:
        raise InvalidInput(f"length: must be from {RANDOM_PASSWORD_MIN} to {RANDOM_PASSWORD_MAX}", field="length")
    exclude = request.query_params.get("exclude_characters", "")
    password = passwords.generate(
        length,
        lowercase=not bool_param(request, "exclude_lowercase"),
        uppercase=not bool_param(request, "exclude_uppercase"),
        digits=not bool_param(request, "exclude_numbers"),
        symbols="" if bool_param(request, "exclude_punctuation") else passwords.SYMBOLS,
        exclude=exclude,
        require_each=bool_param(request, "require_each_included_type", True),
    )
    return JSONResponse({"random_password": password}, headers={"Cache-Control": "no-store"})
