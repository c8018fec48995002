"""GET /api/v2/openapi.json: the OpenAPI 3.1 document, built from the route table and the
request models, so it cannot drift from what the server accepts."""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lifecycle.core import Actor, Core

ERROR_STATUSES = {"400": "Bad input", "401": "No valid token", "403": "Role or group not allowed",
                  "404": "Not found", "409": "Conflict", "412": "Locked", "413": "Too large"}


def build(routes: Any) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for ep in routes:
        op: dict[str, Any] = {"summary": ep.summary, "operationId": ep.handler.__name__ + "_" + ep.method.lower()}
        params = re.findall(r"{(\w+)}", ep.path)
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
        if ep.body is not None:
            schema = TypeAdapter(ep.body).json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            name = getattr(ep.body, "__name__", None) or ep.summary.title().replace(" ", "")
            schemas[name] = schema
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
        op["responses"] = {str(ep.status): {"description": "Success"}}
        if ep.role is not None:
            op["security"] = [{"bearer": []}]
            op["x-certkeeper-role"] = ep.role.value
            op["responses"].update({k: {"description": v} for k, v in ERROR_STATUSES.items()})
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "certkeeper", "version": "2", "description": "IBM Cloud Secrets Manager v2 compatible API"},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


async def document(request: Request, core: Core, actor: Actor) -> Response:
    from api.routes.table import ROUTES  # the table imports this module

    return JSONResponse(build(ROUTES))
