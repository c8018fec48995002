"""Unauthenticated CA certificate and CRL downloads: the URLs embedded in issued
certificates (CRL distribution point, AIA issuing certificate)."""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request
from starlette.responses import Response

from lifecycle import crls
from lifecycle.configurations import get_configuration
from lifecycle.core import Actor, Core
from lifecycle.errors import NotFound
from lifecycle.private_ca import ca_data, key_certificate


def _ca_pems(core: Core, name: str) -> list[str]:
    try:
        config = get_configuration(core, name).config
    except NotFound:
        raise NotFound("certificate authority", name) from None  # as the CRL routes say it
    data = ca_data(config)
    if not data or "certificate" not in data:
        raise NotFound("certificate of certificate authority", name)
    return list(data["ca_chain"])


GENERATION = re.compile(r"[1-9][0-9]{0,8}")  # as written in the URLs certificates embed: no sign, no leading zero


def _generation(request: Request) -> int:
    text = request.path_params["generation"]
    if not GENERATION.fullmatch(text):
        raise NotFound("key generation", text)
    return int(text)


def _der(text: str) -> Response:
    cert = x509.load_pem_x509_certificate(text.encode())
    return Response(cert.public_bytes(serialization.Encoding.DER), media_type="application/pkix-cert")


async def ca_der(request: Request, core: Core, actor: Actor) -> Response:
    return _der(key_certificate(core, request.path_params["name"], None, bare=True))


async def generation_ca_der(request: Request, core: Core, actor: Actor) -> Response:
    return _der(key_certificate(core, request.path_params["name"], _generation(request)))


async def ca_pem(request: Request, core: Core, actor: Actor) -> Response:
    return Response(_ca_pems(core, request.path_params["name"])[0], media_type="application/x-pem-file")


async def ca_chain(request: Request, core: Core, actor: Actor) -> Response:
    return Response("".join(_ca_pems(core, request.path_params["name"])), media_type="application/x-pem-file")


async def crl_der(request: Request, core: Core, actor: Actor) -> Response:
    return Response(crls.current(core, request.path_params["name"], bare=True), media_type="application/pkix-crl")


async def generation_crl_der(request: Request, core: Core, actor: Actor) -> Response:
    crl = crls.current(core, request.path_params["name"], _generation(request))
    return Response(crl, media_type="application/pkix-crl")


async def crl_pem(request: Request, core: Core, actor: Actor) -> Response:
    crl = x509.load_der_x509_crl(crls.current(core, request.path_params["name"]))
    return Response(crl.public_bytes(serialization.Encoding.PEM), media_type="application/x-pem-file")
