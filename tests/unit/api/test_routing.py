"""The indexed router answers every request as Starlette's own router would (the route picked,
its path parameters, 405 with Allow, the slash redirect, 404), trying only the routes whose
path the request could match."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.routes.table import ROUTES
from api.routing import IndexedRouter

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def _endpoint(label: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        return JSONResponse({"route": label, "params": request.path_params})
    return endpoint


def _routes(extra: list[tuple[str, str]] = []) -> list[Route]:  # noqa: B006 (read only)
    table = [(ep.method, ep.path) for ep in ROUTES] + extra
    return [Route(path, _endpoint(f"{method} {path}"), methods=[method]) for method, path in table]


def _apps(extra: list[tuple[str, str]] = []) -> tuple[Starlette, Starlette]:  # noqa: B006
    plain = Starlette(routes=_routes(extra))
    indexed = Starlette()
    indexed.router = IndexedRouter(_routes(extra))
    return plain, indexed


def _paths(extra: list[tuple[str, str]] = []) -> list[str]:  # noqa: B006
    """Every route's path with its parameters filled, with and without a trailing slash, and
    paths no route has."""
    paths = set()
    for _method, path in [(ep.method, ep.path) for ep in ROUTES] + extra:
        filled = path
        while "{" in filled:
            start, end = filled.index("{"), filled.index("}")
            filled = filled[:start] + f"p{start}" + filled[end + 1:]
        paths |= {filled, filled + "/", filled + "/x", filled.rsplit("/", 1)[0] or "/"}
    paths |= {"/", "/api", "/api/v2", "/api/v3/secrets/1", "/api/v2/secrets//metadata", "/nowhere/a/b/c/d"}
    return sorted(paths)


async def _answers(app: Starlette, paths: list[str], **client: Any) -> list[tuple[Any, ...]]:
    transport = httpx.ASGITransport(app=app, **client)
    async with httpx.AsyncClient(transport=transport, base_url="http://certkeeper") as c:
        out = []
        for path in paths:
            for method in METHODS:
                r = await c.request(method, path)
                out.append((method, path, r.status_code, r.headers.get("allow"), r.headers.get("location"), r.text))
        return out


@pytest.mark.parametrize("extra", [[], [("GET", "/files/{rest:path}"), ("GET", "/api/{version}/secrets/{id}")]],
                         ids=["route table", "with routes filed anywhere"])
def test_every_request_gets_what_starlettes_router_gives(extra: list[tuple[str, str]]) -> None:
    plain, indexed = _apps(extra)
    paths = _paths(extra) + ["/files/a/b/c", "/api/v9/secrets/s1"]
    expected = asyncio.run(_answers(plain, paths))
    assert asyncio.run(_answers(indexed, paths)) == expected
    assert {answer[2] for answer in expected} >= {200, 307, 404, 405}  # each kind of answer was compared


def test_behind_a_root_path_requests_get_what_starlettes_router_gives() -> None:
    plain, indexed = _apps()
    paths = [f"/sm{p}" for p in _paths()] + ["/sm", "/api/v2/secrets/s1"]
    expected = asyncio.run(_answers(plain, paths, root_path="/sm"))
    assert asyncio.run(_answers(indexed, paths, root_path="/sm")) == expected
    assert {answer[2] for answer in expected} >= {200, 404, 405}


def test_a_secret_read_tries_only_the_routes_of_its_path() -> None:
    _plain, indexed = _apps()
    tried: list[str] = []
    for route in indexed.router.routes:
        matches = route.matches

        def counting(scope: Any, route: Any = route, matches: Any = matches) -> Any:
            tried.append(f"{sorted(route.methods)} {route.path}")
            return matches(scope)
        route.matches = counting  # type: ignore[method-assign]
    answers = asyncio.run(_answers(indexed, ["/api/v2/secrets/0190-abc"]))
    assert answers[0][2] == 200 and '"GET /api/v2/secrets/{id}"' in answers[0][5]
    gets = tried[:tried.index("['GET', 'HEAD'] /api/v2/secrets/{id}") + 1]
    assert len(gets) == 1, gets  # Starlette's router tries the 14 routes listed before it first


def test_a_route_added_after_the_router_was_made_is_found() -> None:
    """Added later, a POST beside the GET and PATCH of one path answers, not their 405."""
    plain, indexed = _apps()
    for app in (plain, indexed):
        app.router.add_route("/api/v2/secrets/{id}/metadata", _endpoint("added"), methods=["POST"])
    path = ["/api/v2/secrets/s1/metadata"]
    expected = asyncio.run(_answers(plain, path))
    assert [a[:3] for a in expected if a[0] == "POST"] == [("POST", path[0], 200)]
    assert asyncio.run(_answers(indexed, path)) == expected
