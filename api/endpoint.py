"""What one row of the route table holds: method, path, handler, the least role, the audit action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lifecycle.core import Actor, Core
from lifecycle.vocabulary import Role

Handler = Callable[[Request, Core, Actor], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    role: Role | None  # None: no token needed (health, OpenAPI)
    summary: str
    action: str | None = None  # audit action; failures of audited routes are recorded too
    body: Any = None  # request model, for the OpenAPI document
    status: int = 200
