"""Starlette's router, trying for each request only the routes its path could match.

Starlette tries every route in order, a regular expression each: a secret read (the 15th of
52 routes) spent ~15 us matching paths, a third of what a bare Starlette endpoint costs. Here
each route is filed under the number of segments of its path and its first `PREFIX` segments
when those are literal (`/api/v2/secrets/{id}` under (5, ('', 'api', 'v2', 'secrets'))); a
route whose first segments hold a parameter, or whose parameter may span segments (`:path`),
is tried for every request. A request tries its own key's routes in table order, exactly as
Starlette would try all of them: a route filed elsewhere cannot match the path at all (a
parameter matches within one segment), so the first full match, and failing one the first
partial match (the method not allowed), are the ones Starlette picks. A path no route matches
goes to Starlette's own handling (its slash redirect, then 404).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette._utils import get_route_path  # the path Route.matches matches (root_path taken off)
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

PREFIX = 4  # segments of a path that file its routes (the empty one before the first slash included)


def _key(path: str) -> tuple[int, tuple[str, ...]]:
    parts = path.split("/")
    return len(parts), tuple(parts[:PREFIX])


def _filed_under(route: BaseRoute) -> tuple[int, tuple[str, ...]] | None:
    """The key of the paths ``route`` may match; None: it may match paths of any key."""
    if not isinstance(route, Route) or ":path}" in route.path:
        return None
    key = _key(route.path)
    return None if any("{" in part for part in key[1]) else key


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **kwargs: object) -> None:
        super().__init__(routes=list(routes), **kwargs)  # type: ignore[arg-type]
        self._file_routes()

    def _file_routes(self) -> None:
        self._filed_count = len(self.routes)
        anywhere: list[int] = []
        filed: dict[tuple[int, tuple[str, ...]], list[int]] = {}
        for i, route in enumerate(self.routes):
            key = _filed_under(route)
            if key is None:
                anywhere.append(i)
            else:
                filed.setdefault(key, []).append(i)
        self._anywhere = [self.routes[i] for i in anywhere]
        self._filed = {key: [self.routes[i] for i in sorted(at + anywhere)] for key, at in filed.items()}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        if len(self.routes) != self._filed_count:  # a route added since (add_route, mount): filed anew
            self._file_routes()
        candidates = self._filed.get(_key(get_route_path(scope)), self._anywhere)
        partial: BaseRoute | None = None
        partial_scope: Scope = {}
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                partial, partial_scope = route, child_scope
                break
            if match is Match.PARTIAL and partial is None:  # the method not allowed, unless a later one is
                partial, partial_scope = route, child_scope
        if partial is None:
            await super().app(scope, receive, send)  # no route matches: Starlette's redirect or 404
            return
        scope.setdefault("router", self)
        scope["route"] = partial
        scope.update(partial_scope)
        await partial.handle(scope, receive, send)
