"""Engine configurations: /api/v2/configurations[/{name}[/actions]]."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import render
from api.routes.query import int_param, list_param
from api.schemas.configurations import (
    AcmeCAPatch,
    CAPatch,
    CisPatch,
    ConfigurationAction,
    ConfigurationPrototype,
    LetsEncryptPatch,
    TemplatePatch,
    fields_of,
)
from api.schemas.parsing import json_body, parse, parse_body
from lifecycle import configurations, public_configs
from lifecycle.ca_store import INTERMEDIATE_CA, ROOT_CA, TEMPLATE
from lifecycle.core import Actor, Core
from lifecycle.errors import InvalidInput

DEFAULT_LIMIT, MAX_LIMIT = 200, 1000
_PATCHES = {ROOT_CA: CAPatch, INTERMEDIATE_CA: CAPatch, TEMPLATE: TemplatePatch,
            public_configs.LETS_ENCRYPT: LetsEncryptPatch, public_configs.ACME_CA: AcmeCAPatch,
            public_configs.CIS: CisPatch}


async def create_configuration(request: Request, core: Core, actor: Actor) -> Response:
    data = await json_body(request)
    if not isinstance(data, dict):
        raise InvalidInput("request body: must be a JSON object")
    body = parse(ConfigurationPrototype, data)
    fields = fields_of(body)
    view = configurations.create_configuration(core, actor, body.config_type, body.name, fields)
    return JSONResponse(render.configuration(view), status_code=201)


async def list_configurations(request: Request, core: Core, actor: Actor) -> Response:
    offset, limit = int_param(request, "offset", 0), int_param(request, "limit", DEFAULT_LIMIT)
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: must be from 1 to {MAX_LIMIT}, offset 0 or more", field="limit")
    rows, total = configurations.list_configurations(
        core, offset=offset, limit=limit, search=request.query_params.get("search") or None,
        types=list_param(request, "config_types"), secret_types=list_param(request, "secret_types"),
        sort=request.query_params.get("sort") or None,
    )
    items = [render.configuration_metadata(r) for r in rows]
    return JSONResponse(render.page(request.url, "configurations", items, total, offset, limit))


async def get_configuration(request: Request, core: Core, actor: Actor) -> Response:
    accept = request.headers.get("x-sm-accept-configuration-type")
    return JSONResponse(render.configuration(configurations.get_configuration(core, request.path_params["name"], accept)))


async def update_configuration(request: Request, core: Core, actor: Actor) -> Response:
    name = request.path_params["name"]
    current = configurations.get_configuration(core, name)
    model: Any = _PATCHES[current.config.config_type]
    body = await parse_body(request, model)
    # A public configuration's optional fields are removed by an explicit null; CA and template
    # patches ignore nulls, as before.
    public = current.config.config_type in configurations.PUBLIC_TYPES
    patch = body.model_dump(exclude_unset=True) if public else body.model_dump(exclude_none=True)
    view = configurations.update_configuration(core, actor, name, patch)
    return JSONResponse(render.configuration(view))


async def delete_configuration(request: Request, core: Core, actor: Actor) -> Response:
    configurations.delete_configuration(core, actor, request.path_params["name"])
    return Response(status_code=204)


async def configuration_action(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, ConfigurationAction)
    result = configurations.run_action(core, actor, request.path_params["name"], fields_of(body))
    return JSONResponse(result, status_code=201)
