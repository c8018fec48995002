"""The private PKI every issuance benchmark uses, on both sides: an EC P-256 root and
intermediate, and a template issuing EC P-256 leaves with the same names and usages that
the cfssl profile in `bench/cfssl.py` gives."""

from __future__ import annotations

from typing import Any

from bench.client import Client

TEMPLATE = "bench-web"
COMMON_NAME = "www.example.test"
ALT_NAMES = ["api.example.test"]
TTL = "720h"
# Usages of the leaves: the same four on both sides (cfssl spells them in its profile).
KEY_USAGE = ["DigitalSignature", "KeyEncipherment"]  # + server and client auth (the template's default flags)

HIERARCHY: list[tuple[str, dict[str, Any]]] = [
    ("/api/v2/configurations", {
        "config_type": "private_cert_configuration_root_ca", "name": "bench-root", "common_name": "Bench Root",
        "max_ttl": "87600h", "key_type": "ec", "key_bits": 256,
    }),
    ("/api/v2/configurations", {
        "config_type": "private_cert_configuration_intermediate_ca", "name": "bench-int",
        "common_name": "Bench Intermediate", "max_ttl": "43800h", "signing_method": "internal",
        "issuer": "bench-root", "key_type": "ec", "key_bits": 256,
    }),
    ("/api/v2/configurations/bench-root/actions", {
        "action_type": "private_cert_configuration_action_sign_intermediate",
        "intermediate_certificate_authority": "bench-int",
    }),
    ("/api/v2/configurations", {
        "config_type": "private_cert_configuration_template", "name": TEMPLATE, "certificate_authority": "bench-int",
        "allowed_domains": ["example.test"], "allow_subdomains": True, "max_ttl": "2160h",
        "key_type": "ec", "key_bits": 256, "key_usage": KEY_USAGE,
    }),
]


def set_up(client: Client) -> None:
    """Create the root, the intermediate and the template through the API."""
    for path, body in HIERARCHY:
        client.post(path, body)


def issue_fields() -> dict[str, Any]:
    """The type-specific fields of one private certificate request (without its name)."""
    return {"certificate_template": TEMPLATE, "common_name": COMMON_NAME, "alt_names": ALT_NAMES, "ttl": TTL}


def issue_body(name: str) -> dict[str, Any]:
    return {"secret_type": "private_cert", "name": name, **issue_fields()}
