"""Secrets: /api/v2/secrets, their metadata, and lookup by group name, type and name."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import render
from api.routes.query import bool_param, int_param, list_param
from api.schemas.parsing import json_body, parse, parse_body
from api.schemas.secrets import COMMON_FIELDS, SecretMetadataPatch, SecretPrototype
from lifecycle import batched_creates, payload_reads, secrets
from lifecycle.core import Actor, Core
from lifecycle.errors import InvalidInput
from lifecycle.secrets import SecretDraft
from lifecycle.store import SecretQuery
from lifecycle.store.sql import SORTABLE
from lifecycle.types import handler_for

DEFAULT_LIMIT = 200


async def create_secret(request: Request, core: Core, actor: Actor) -> Response:
    data = await json_body(request)
    if not isinstance(data, dict):
        raise InvalidInput("request body: must be a JSON object")
    if "secret_type" not in data:
        raise InvalidInput("secret_type: is required", field="secret_type")
    handler_for(str(data["secret_type"]))  # a clear message for unsupported types
    body = parse(SecretPrototype, data)
    dumped = body.model_dump(exclude_unset=True, exclude_none=True)
    draft = SecretDraft(
        secret_type=body.secret_type,
        name=body.name,
        secret_group_id=body.secret_group_id,
        description=body.description,
        labels=body.labels,
        custom_metadata=body.custom_metadata,
        version_custom_metadata=body.version_custom_metadata,
        expiration_date=getattr(body, "expiration_date", None),
        fields={k: v for k, v in dumped.items() if k not in COMMON_FIELDS},
        client_request_token=body.client_request_token,
    )
    view = await batched_creates.create(core, actor, draft)  # committed with the creations served with it
    # The v2 contract answers with the secret and its data (a generated password included).
    return JSONResponse(render.secret(core, view), status_code=201)


async def list_secrets(request: Request, core: Core, actor: Actor) -> Response:
    sort = request.query_params.get("sort") or "created_at"
    descending = sort.startswith("-")
    sort_field = sort.removeprefix("-")
    if sort_field not in SORTABLE:
        raise InvalidInput(f"sort: '{sort_field[:40]}' is not one of {', '.join(SORTABLE)}", field="sort")
    query = SecretQuery(
        offset=int_param(request, "offset", 0),
        limit=int_param(request, "limit", DEFAULT_LIMIT),
        sort=sort_field,
        descending=descending,
        search=request.query_params.get("search") or None,
        groups=list_param(request, "groups"),
        secret_types=list_param(request, "secret_types"),
        labels=list_param(request, "match_all_labels"),
    )
    views, total = secrets.list_secrets(core, actor, query)
    items = [render.secret_metadata(core, v) for v in views]
    return JSONResponse(render.page(request.url, "secrets", items, total, query.offset, query.limit))


async def get_secret(request: Request, core: Core, actor: Actor) -> Response:
    # the data goes out once the read's audit event committed
    view = await secrets.read_secret_recorded(core, actor, request.path_params["id"])
    return JSONResponse(render.secret(core, view))


async def delete_secret(request: Request, core: Core, actor: Actor) -> Response:
    bool_param(request, "force_delete")  # accepted for wire compatibility; generic secrets need no force
    secrets.delete_secret(core, actor, request.path_params["id"])
    return Response(status_code=204)


async def get_metadata(request: Request, core: Core, actor: Actor) -> Response:
    view = secrets.get_secret(core, actor, request.path_params["id"], with_payload=False)
    return JSONResponse(render.secret_metadata(core, view))


async def update_metadata(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, SecretMetadataPatch)
    patch = body.model_dump(exclude_unset=True)
    view = secrets.update_metadata(core, actor, request.path_params["id"], patch)
    return JSONResponse(render.secret_metadata(core, view))


async def get_by_name(request: Request, core: Core, actor: Actor) -> Response:
    p = request.path_params
    view, read = secrets.read_secret_by_name(core, actor, p["secret_group_name"], p["secret_type"], p["name"])
    await payload_reads.record(core, read)
    return JSONResponse(render.secret(core, view))
