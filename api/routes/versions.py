"""Versions: /api/v2/secrets/{secret_id}/versions[/{id}[/metadata|/secret_data]]."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import render
from api.schemas.parsing import parse_body
from api.schemas.secrets import SecretVersionPrototype, VersionMetadataPatch
from lifecycle import payload_reads, version_ops
from lifecycle.core import Actor, Core


async def create_version(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, SecretVersionPrototype)
    fields = {"payload": body.payload, "data": body.data, "password": body.password, "csr": body.csr,
              "rotation": body.rotation.model_dump(exclude_none=True) if body.rotation else None,
              "certificate": body.certificate, "intermediate": body.intermediate, "private_key": body.private_key}
    view = version_ops.create_version(
        core, actor, request.path_params["secret_id"], fields,
        custom_metadata=body.custom_metadata,
        version_custom_metadata=body.version_custom_metadata,
        client_request_token=body.client_request_token,
        version_stages=body.version_stages,
    )
    # The v2 contract answers with the version and its data (a generated password included).
    return JSONResponse(render.version(view), status_code=201)


async def list_versions(request: Request, core: Core, actor: Actor) -> Response:
    _, views = version_ops.list_versions(core, actor, request.path_params["secret_id"])
    return JSONResponse({"versions": [render.version_metadata(v) for v in views], "total_count": len(views)})


async def get_version(request: Request, core: Core, actor: Actor) -> Response:
    p = request.path_params
    view, read = version_ops.read_version(core, actor, p["secret_id"], p["id"])
    await payload_reads.record(core, read)  # the data goes out once the read's audit event committed
    return JSONResponse(render.version(view))


async def get_version_metadata(request: Request, core: Core, actor: Actor) -> Response:
    p = request.path_params
    view = version_ops.get_version(core, actor, p["secret_id"], p["id"], with_payload=False)
    return JSONResponse(render.version_metadata(view))


async def update_version_metadata(request: Request, core: Core, actor: Actor) -> Response:
    body = await parse_body(request, VersionMetadataPatch)
    p = request.path_params
    view = version_ops.update_version_metadata(core, actor, p["secret_id"], p["id"], body.model_dump(exclude_unset=True))
    return JSONResponse(render.version_metadata(view))


async def delete_version_data(request: Request, core: Core, actor: Actor) -> Response:
    p = request.path_params
    version_ops.delete_version_data(core, actor, p["secret_id"], p["id"])
    return Response(status_code=204)
