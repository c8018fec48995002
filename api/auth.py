"""Bearer tokens to an Actor and a Role; the route table says which role each route needs."""

from __future__ import annotations

from starlette.requests import Request

from lifecycle import tokens
from lifecycle.core import Actor, Core
from lifecycle.errors import Forbidden, Unauthenticated
from lifecycle.vocabulary import Role


def authenticate(request: Request, core: Core, request_id: str) -> tuple[Actor, Role]:
    """Raises Unauthenticated for a missing, malformed, unknown, revoked or expired token."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if not header:
        raise Unauthenticated("Authorization header with a bearer token is required")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    record = tokens.authenticate(core, credentials.strip(), core.clock())
    groups = frozenset(record.groups) if record.groups is not None else None
    return Actor(token_id=record.id, groups=groups, request_id=request_id), Role(record.role)


def authorize(role: Role, needed: Role) -> None:
    if not role.includes(needed):
        raise Forbidden(f"this route needs the {needed.value} role or higher; the token has {role.value}")
