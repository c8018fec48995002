"""The one table from error class to HTTP status and stable code, and the JSON error body.

Lookup follows the class hierarchy, so a new subclass inherits its base's row;
`tests/unit/api/test_errors.py` walks every subclass to keep the table whole.
Bodies follow the v2 contract: ``{"errors": [{"code", "message"}], "status_code", "trace"}``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from lifecycle import errors as e
from lifecycle.tasks import StaleLease

ERROR_TABLE: dict[type[e.CertkeeperError], tuple[int, str]] = {
    e.CertkeeperError: (500, "internal_error"),
    e.LifecycleError: (500, "internal_error"),
    e.InvalidInput: (400, "invalid_input"),
    e.PayloadTooLarge: (413, "payload_too_large"),
    e.NotFound: (404, "not_found"),
    e.Conflict: (409, "conflict"),
    e.Locked: (412, "locked"),
    e.Forbidden: (403, "forbidden"),
    e.Unauthenticated: (401, "unauthorized"),
    e.StoreUnavailable: (503, "store_unavailable"),
    e.StoreUnreachable: (503, "store_unavailable"),  # as StoreUnavailable: clients see one code
    e.IntegrityFailure: (500, "integrity_failure"),
    StaleLease: (409, "stale_lease"),
}


def status_and_code(exc: e.CertkeeperError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]  # type: ignore[index]
    return 500, "internal_error"


def error_body(status: int, code: str, message: str, trace: str | None, field: str | None = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    if field:
        error["target"] = {"name": field, "type": "field"}
    return {"errors": [error], "status_code": status, "trace": trace}


def error_response(request: Request, status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    trace = getattr(request.state, "request_id", None)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(status, code, message, trace, field), status_code=status, headers=headers)


def render_error(request: Request, exc: e.CertkeeperError) -> JSONResponse:
    status, code = status_and_code(exc)
    return error_response(request, status, exc.code or code, exc.message, exc.field)
