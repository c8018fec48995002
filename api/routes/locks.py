"""Locks: per secret, per version and across the instance (`/api/v2/secrets_locks`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import render
from api.routes.query import int_param, list_param
from api.schemas.parsing import parse_body
from api.schemas.secrets import LocksPrototype
from lifecycle import locks
from lifecycle.core import Actor, Core
from lifecycle.errors import InvalidInput

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000


def _page_params(request: Request) -> tuple[int, int]:
    offset, limit = int_param(request, "offset", 0), int_param(request, "limit", DEFAULT_LIMIT)
    if offset < 0:
        raise InvalidInput("offset: must be 0 or more", field="offset")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: must be from 1 to {MAX_LIMIT}", field="limit")
    return offset, limit


async def _create(request: Request, core: Core, actor: Actor, secret_id: str, ref: str) -> Response:
    body = await parse_body(request, LocksPrototype)
    requests = [locks.LockRequest(lk.name, lk.description, lk.attributes) for lk in body.locks]
    summary = locks.create_locks(core, actor, secret_id, ref, requests, request.query_params.get("mode") or None)
    return JSONResponse(render.secret_locks(summary), status_code=201)


async def create_secret_locks(request: Request, core: Core, actor: Actor) -> Response:
    return await _create(request, core, actor, request.path_params["id"], "current")


async def create_version_locks(request: Request, core: Core, actor: Actor) -> Response:
    p = request.path_params
    return await _create(request, core, actor, p["secret_id"], p["id"])


async def delete_secret_locks(request: Request, core: Core, actor: Actor) -> Response:
    summary = locks.delete_locks(core, actor, request.path_params["id"], None, list_param(request, "name"))
    return JSONResponse(render.secret_locks(summary))


async def delete_version_locks(request: Request, core: Core, actor: Actor) -> Response:
    p = request.path_params
    summary = locks.delete_locks(core, actor, p["secret_id"], p["id"], list_param(request, "name"))
    return JSONResponse(render.secret_locks(summary))


async def _list(request: Request, core: Core, actor: Actor, secret_id: str, ref: str | None) -> Response:
    offset, limit = _page_params(request)
    sort = request.query_params.get("sort") or "name"
    if sort.removeprefix("-") not in ("name", "created_at", "updated_at"):
        raise InvalidInput(f"sort: '{sort[:40]}' is not one of name, created_at, updated_at", field="sort")
    secret, rows = locks.list_locks(core, actor, secret_id, ref, search=request.query_params.get("search"))
    key = sort.removeprefix("-")
    rows.sort(key=lambda pair: getattr(pair[0], key), reverse=sort.startswith("-"))
    items = [render.lock(lock, secret, alias) for lock, alias in rows[offset : offset + limit]]
    return JSONResponse(render.page(request.url, "locks", items, len(rows), offset, limit))


async def list_secret_locks(request: Request, core: Core, actor: Actor) -> Response:
    return await _list(request, core, actor, request.path_params["id"], None)


async def list_version_locks(request: Request, core: Core, actor: Actor) -> Response:
    p = request.path_params
    return await _list(request, core, actor, p["secret_id"], p["id"])


async def list_instance_locks(request: Request, core: Core, actor: Actor) -> Response:
    offset, limit = _page_params(request)
    summaries, total = locks.list_instance_locks(
        core, actor, offset=offset, limit=limit, search=request.query_params.get("search") or None,
        groups=list_param(request, "groups"),
    )
    items = [render.secret_locks(s) for s in summaries]
    return JSONResponse(render.page(request.url, "secrets_locks", items, total, offset, limit))
