"""Reading a request body: size cap before parsing, JSON, then a pydantic model.

Every failure is an InvalidInput / PayloadTooLarge naming the field, never a 500.
"""

from __future__ import annotations

import functools
import json
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request

from lifecycle.errors import InvalidInput, PayloadTooLarge

M = TypeVar("M")

MAX_BODY_BYTES = 2 * 1024 * 1024  # an arbitrary payload (1 MB) as JSON, with metadata and escapes


async def json_body(request: Request, max_bytes: int = MAX_BODY_BYTES, *, optional: bool = False) -> Any:
    """The body as JSON, read up to ``max_bytes`` (over: PayloadTooLarge, before reading the
    rest). An empty body is refused, or None when ``optional``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"request body: {declared} bytes is over the limit of {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"request body: over the limit of {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if optional:
            return None
        raise InvalidInput("request body: a JSON object is required")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"request body: not valid JSON ({getattr(exc, 'msg', 'bad encoding')})") from None
    except RecursionError:
        raise InvalidInput("request body: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise InvalidInput(f"request body: {str(exc)[:80]}") from None
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidInput("request body: a string holds an unpaired UTF-16 surrogate escape") from None
    except RecursionError:
        raise InvalidInput("request body: JSON nested too deeply") from None
    return data


def _reject_constant(name: str) -> Any:
    raise InvalidInput(f"request body: {name} is not a JSON number")


def validation_message(exc: ValidationError) -> tuple[str, str]:
    """The first problem as ('field.path', 'field.path: what is wrong'); never echoes the input."""
    first = exc.errors(include_input=False, include_url=False)[0]
    loc = ".".join(str(p) for p in first["loc"] if not (isinstance(p, str) and p in _TAGS)) or "request body"
    kind = first["type"]
    if kind == "missing":
        text = "is required"
    elif kind == "extra_forbidden":
        text = "is not a known field"
    else:
        text = first["msg"]
    return loc, f"{loc}: {text}"


_TAGS = {
    "arbitrary", "kv", "username_password", "imported_cert", "private_cert", "public_cert",
    "private_cert_configuration_root_ca", "private_cert_configuration_intermediate_ca",
    "private_cert_configuration_template", "public_cert_configuration_ca_lets_encrypt",
    "public_cert_configuration_ca_acme", "public_cert_configuration_dns_cloud_internet_services",
}


@functools.cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    """One validator per request model: building it costs more than validating a body."""
    return TypeAdapter(model)


def parse(model: type[M] | Any, data: Any) -> M:
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(data)  # type: ignore[return-value]
        return _adapter(model).validate_python(data)  # type: ignore[no-any-return]
    except ValidationError as exc:
        field, message = validation_message(exc)
        raise InvalidInput(message, field=field) from None


async def parse_body(request: Request, model: type[M] | Any, max_bytes: int = MAX_BODY_BYTES, *,
                     optional: bool = False) -> M:
    """The body as ``model``; with ``optional``, an empty body is the model with no fields given."""
    data = await json_body(request, max_bytes, optional=optional)
    if data is None and optional:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput("request body: must be a JSON object")
    return parse(model, data)
