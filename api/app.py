"""The one wiring point: `create_app` turns the route table into a Starlette app.

Each route is wrapped once: request id, authentication and role check, the call,
error rendering, and an audit event when an audited route fails.
"""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import authenticate, authorize
from api.endpoint import Endpoint
from api.errors import error_response, render_error, status_and_code
from api.routing import IndexedRouter
from api.routes.table import ROUTES
from lifecycle import audit, scheduler
from lifecycle.background import background_handlers
from lifecycle.workers import WorkerPool
from lifecycle.core import Actor, Core
from lifecycle.errors import CertkeeperError, InvalidInput
from lifecycle.tasks import DEFAULT_LEASE

log = logging.getLogger("certkeeper.api")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if REQUEST_ID_RE.match(given) else uuid.uuid4().hex


def _wrap(ep: Endpoint, core: Core):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        request_id = _request_id(request)
        request.state.request_id = request_id
        actor = Actor(token_id=None, request_id=request_id)
        try:
            _refuse_nul(request)
            if ep.role is not None:
                actor, role = authenticate(request, core, request_id)
                authorize(role, ep.role)
            response = await ep.handler(request, core, actor)
        except CertkeeperError as exc:
            status, code = status_and_code(exc)
            if ep.action and actor.token_id is not None:
                target = "/".join(f"{k}:{v}" for k, v in request.path_params.items()) or request.url.path
                outcome = "denied" if status in (403, 412) else "error"
                try:
                    audit.record_failure(core.store, actor, core.clock(), ep.action, target, outcome)
                except CertkeeperError:
                    log.warning("could not record audit event for request %s", request_id)
            if status >= 500:
                log.error("request %s failed: %s (%s)", request_id, code, exc.message)
            response = render_error(request, exc)
        except Exception as exc:  # never re-raised: a traceback message may quote input
            log.error("request %s: unexpected %s\n%s", request_id, type(exc).__name__,
                      "".join(traceback.format_tb(exc.__traceback__)))
            response = _internal_error(request_id)
        response.headers["X-Request-ID"] = request_id
        return response

    endpoint.__name__ = ep.handler.__name__
    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    request.state.request_id = _request_id(request)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = "no such route" if exc.status_code == 404 else str(exc.detail)
    return error_response(request, exc.status_code, code, message)


def _internal_error(request_id: str) -> Response:
    body = {"errors": [{"code": "internal_error", "message": "internal error; see the server log for this trace id"}],
            "status_code": 500, "trace": request_id}
    return JSONResponse(body, status_code=500)


def _refuse_nul(request: Request) -> None:
    """NUL cannot be stored or logged safely; refuse it in paths and query strings up front."""
    for key, value in request.path_params.items():
        if "\x00" in str(value):
            raise InvalidInput(f"{key}: must not contain a NUL character", field=key)
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise InvalidInput(f"{key[:40]!r}: query parameters must not contain a NUL character")


def create_app(
    core: Core, *, routes: Iterable[Endpoint] = ROUTES, workers: int = 0, scheduler_interval: float = 15.0,
    task_lease: timedelta = DEFAULT_LEASE,
) -> Starlette:
    """The ASGI app over one Core (store, keyring, clock). With ``workers`` > 0 it also runs
    that many background workers and the scheduler while it serves, holding tasks for
    ``task_lease``."""
    table = tuple(routes)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = None
        if workers > 0:
            pool = WorkerPool(core, background_handlers(), threads=workers, tick=scheduler.tick,
                              tick_interval=scheduler_interval, lease=task_lease)
            pool.start()
        try:
            yield
        finally:
            if pool is not None:
                pool.stop()

    app = Starlette(exception_handlers={HTTPException: _http_error})
    app.router = IndexedRouter([Route(ep.path, _wrap(ep, core), methods=[ep.method]) for ep in table],
                               lifespan=lifespan)
    app.state.core = core
    app.state.routes = table
    return app
