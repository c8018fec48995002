"""The framework ceiling of benchmark 4: one trivial Starlette JSON endpoint at the same path,
served by `uvicorn.run` with the options `certkeeper serve` uses (api.cli.SERVER_OPTIONS), in
as many processes as certkeeper is given (`serve --processes`: uvicorn's supervisor either way).

Run as `python -m bench.ceiling_app PORT [PROCESSES]`."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.cli import SERVER_OPTIONS


async def secret(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"], "secret_type": "kv", "data": {"bench": "value"}})


app = Starlette(routes=[Route("/api/v2/secrets/{id}", secret, methods=["GET"])])

if __name__ == "__main__":
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    uvicorn.run("bench.ceiling_app:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                workers=processes, **SERVER_OPTIONS)  # by name: more than one process imports it
