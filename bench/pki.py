"""The private PKI every issuance benchmark uses, on both sides: an EC P-256 root and
intermediate, and templates issuing EC P-256 (and RSA-2048) leaves with the same names and
usages that the cfssl profile in `bench/cfssl.py` gives; and the client CSR both sides sign."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench.client import Client

TEMPLATE = "bench-web"
TEMPLATE_RSA = "bench-web-rsa"  # the same leaves with an RSA-2048 key made by the server
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
    ("/api/v2/configurations", {
        "config_type": "private_cert_configuration_template", "name": TEMPLATE_RSA, "certificate_authority": "bench-int",
        "allowed_domains": ["example.test"], "allow_subdomains": True, "max_ttl": "2160h",
        "key_type": "rsa", "key_bits": 2048, "key_usage": KEY_USAGE,
    }),
]


def set_up(client: Client) -> None:
    """Create the root, the intermediate and the template through the API."""
    for path, body in HIERARCHY:
        client.post(path, body)


def issue_fields(template: str = TEMPLATE) -> dict[str, Any]:
    """The type-specific fields of one private certificate request (without its name)."""
    return {"certificate_template": template, "common_name": COMMON_NAME, "alt_names": ALT_NAMES, "ttl": TTL}


def issue_body(name: str, template: str = TEMPLATE) -> dict[str, Any]:
    return {"secret_type": "private_cert", "name": name, **issue_fields(template)}


def csr_pem() -> str:
    """A client's CSR for the same names, with an EC P-256 key the client keeps."""
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(n) for n in (COMMON_NAME, *ALT_NAMES)]
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)]))
           .add_extension(x509.SubjectAlternativeName(names), critical=False).sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def csr_body(name: str, csr: str) -> dict[str, Any]:
    """Signing a client CSR: the names come from the CSR."""
    return {"secret_type": "private_cert", "name": name, "certificate_template": TEMPLATE, "csr": csr, "ttl": TTL}
