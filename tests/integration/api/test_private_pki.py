"""Private PKI over HTTP: root and intermediate CAs, certificate templates, private
certificates, revocation and CRLs, and the unauthenticated CA and CRL downloads.

Every test runs on SQLite and PostgreSQL (the `database_url` fixture is parametrized).
Template name rules are covered rule by rule in `tests/unit/pki/test_templates.py`;
here only a few cases check that a violation reaches the client as a 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from httpx import Response
from starlette.testclient import TestClient

from fixtures.clock import FakeClock
from lifecycle import crls
from lifecycle.configurations import run_action
from lifecycle.core import SYSTEM, Core

V2 = "/api/v2"
CONFIGS = V2 + "/configurations"
Headers = dict[str, str]

ROOT_CA = "private_cert_configuration_root_ca"
INTERMEDIATE_CA = "private_cert_configuration_intermediate_ca"
TEMPLATE = "private_cert_configuration_template"
SIGN_INTERMEDIATE = "private_cert_configuration_action_sign_intermediate"
SIGN_CSR = "private_cert_configuration_action_sign_csr"
SET_SIGNED = "private_cert_configuration_action_set_signed"
REVOKE_CA = "private_cert_configuration_action_revoke_ca_certificate"
ROTATE_CRL = "private_cert_configuration_action_rotate_crl"
ROTATE_INTERMEDIATE = "private_cert_configuration_action_rotate_intermediate"
REVOKE_CERT = "private_cert_action_revoke_certificate"

ROOT_MAX_TTL = "87600h"  # 10 years
INTERMEDIATE_MAX_TTL = "43800h"  # 5 years, inside the root's lifetime
TEMPLATE_MAX_TTL = "2160h"  # 90 days
COLON_HEX = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2})*")


# -- helpers ----------------------------------------------------------------


def configure(client: TestClient, admin: Headers, **body: Any) -> dict[str, Any]:
    r = client.post(CONFIGS, json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def create_root(client: TestClient, admin: Headers, name: str, **fields: Any) -> dict[str, Any]:
    body = {"common_name": f"{name} Root CA", "max_ttl": ROOT_MAX_TTL, "key_type": "ec",
            "crl_distribution_points_encoded": True, "issuing_certificates_urls_encoded": True} | fields
    return configure(client, admin, config_type=ROOT_CA, name=name, **body)


def create_intermediate(client: TestClient, admin: Headers, name: str, **fields: Any) -> dict[str, Any]:
    body = {"common_name": f"{name} Intermediate CA", "max_ttl": INTERMEDIATE_MAX_TTL, "key_type": "ec",
            "signing_method": "internal", "crl_distribution_points_encoded": True} | fields
    return configure(client, admin, config_type=INTERMEDIATE_CA, name=name, **body)


def create_template(client: TestClient, admin: Headers, name: str, ca: str, **fields: Any) -> dict[str, Any]:
    body = {"allowed_domains": ["example.com"], "allow_subdomains": True, "max_ttl": TEMPLATE_MAX_TTL} | fields
    return configure(client, admin, config_type=TEMPLATE, name=name, certificate_authority=ca, **body)


def action(client: TestClient, admin: Headers, name: str, action_type: str, **fields: Any) -> Response:
    return client.post(f"{CONFIGS}/{name}/actions", json={"action_type": action_type, **fields}, headers=admin)


def ok(response: Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def get_config(client: TestClient, admin: Headers, name: str) -> dict[str, Any]:
    return ok(client.get(f"{CONFIGS}/{name}", headers=admin), 200)


@dataclass(frozen=True, slots=True)
class Pki:
    root: str
    intermediate: str
    template: str


def build_pki(
    client: TestClient, admin: Headers, prefix: str = "", *, intermediate_ttl: str | None = None, **template: Any
) -> Pki:
    """root -> internally signed intermediate -> template (example.com and its subdomains)."""
    pki = Pki(f"{prefix}root", f"{prefix}intermediate", f"{prefix}web")
    create_root(client, admin, pki.root)
    create_intermediate(client, admin, pki.intermediate, issuer=pki.root)
    ttl = {"ttl": intermediate_ttl} if intermediate_ttl else {}
    ok(action(client, admin, pki.root, SIGN_INTERMEDIATE, intermediate_certificate_authority=pki.intermediate, **ttl))
    create_template(client, admin, pki.template, pki.intermediate, **template)
    return pki


def issue(client: TestClient, admin: Headers, template: str, name: str = "www", **fields: Any) -> Response:
    body = {"secret_type": "private_cert", "name": name, "certificate_template": template,
            "common_name": "www.example.com"} | fields
    return client.post(f"{V2}/secrets", json=body, headers=admin)


def revoke(client: TestClient, admin: Headers, secret_id: str, version: str | None = None) -> Response:
    """The revoke action of a secret (its current certificate) or of one version."""
    target = f"{V2}/secrets/{secret_id}" + (f"/versions/{version}" if version else "")
    return client.post(f"{target}/actions", json={"action_type": REVOKE_CERT}, headers=admin)


def rotate(client: TestClient, admin: Headers, secret_id: str) -> dict[str, Any]:
    """A new version (new certificate and key); returns the new current version with its data."""
    ok(client.post(f"{V2}/secrets/{secret_id}/versions", json={}, headers=admin))
    return ok(client.get(f"{V2}/secrets/{secret_id}/versions/current", headers=admin), 200)


def error_message(response: Response) -> str:
    return response.json()["errors"][0]["message"]  # type: ignore[no-any-return]


def error_field(response: Response) -> str | None:
    return response.json()["errors"][0].get("target", {}).get("name")  # type: ignore[no-any-return]


def cert_of(text: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(text.encode())


def public_der(key: Any) -> bytes:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_bytes(serialization.Encoding.DER, spki)  # type: ignore[no-any-return]


def serial_of(colon_hex: str) -> int:
    return int(colon_hex.replace(":", ""), 16)


def ca_cert(client: TestClient, name: str) -> x509.Certificate:
    r = client.get(f"{V2}/pki/{name}/ca")
    assert r.status_code == 200, r.text
    return x509.load_der_x509_certificate(r.content)


def crl_of(client: TestClient, ca: str) -> x509.CertificateRevocationList:
    r = client.get(f"{V2}/pki/{ca}/crl")
    assert r.status_code == 200, r.text
    return x509.load_der_x509_crl(r.content)


def crl_number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def assert_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    cert.verify_directly_issued_by(issuer)  # raises when the signature or the names do not match


def assert_in_crl(crl: x509.CertificateRevocationList, serial: int) -> None:
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None, f"serial {serial:x} is not on the CRL"


def new_csr(common_name: str = "csr.example.com") -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()


def external_intermediate(client: TestClient, admin: Headers, name: str) -> dict[str, Any]:
    return create_intermediate(client, admin, name, signing_method="external")


def signed_elsewhere(client: TestClient, admin: Headers, signer: str, csr: str) -> str:
    """A certificate for ``csr`` from another certkeeper root's sign_csr, followed by that root."""
    answer = ok(action(client, admin, signer, SIGN_CSR, csr=csr, ttl="8760h"))
    return answer["certificate"] + answer["issuing_ca"]


# -- root CAs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "key_bits", "key_class"), [("rsa", 2048, rsa.RSAPublicKey), ("ec", 384, ec.EllipticCurvePublicKey)]
)
def test_root_ca_is_configured_with_a_self_signed_certificate(
    client: TestClient, admin: Headers, key_type: str, key_bits: int, key_class: type
) -> None:
    created = create_root(client, admin, "root", key_type=key_type, key_bits=key_bits)
    cert = cert_of(created["data"]["certificate"])
    assert created["status"] == "configured"
    assert isinstance(cert.public_key(), key_class)
    assert_signed_by(cert, cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_no_configuration_route_returns_a_ca_private_key(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    bodies = [get_config(client, admin, n) for n in (pki.root, pki.intermediate, pki.template)]
    external_intermediate(client, admin, "external")
    bodies.append(get_config(client, admin, "external"))
    bodies.append(ok(client.get(CONFIGS, headers=admin), 200))
    _, csr = new_csr()
    bodies.append(ok(action(client, admin, pki.root, SIGN_CSR, csr=csr, common_name="Other CA")))
    create_root(client, admin, "other-root")
    chain = signed_elsewhere(client, admin, "other-root", get_config(client, admin, "external")["data"]["csr"])
    bodies.append(ok(action(client, admin, "external", SET_SIGNED, certificate=chain)))
    bodies.append(ok(action(client, admin, pki.intermediate, ROTATE_CRL)))
    bodies.append(ok(action(client, admin, pki.intermediate, ROTATE_INTERMEDIATE)))
    bodies.append(ok(client.patch(f"{CONFIGS}/{pki.root}", json={"crl_expiry": "48h"}, headers=admin), 200))
    bodies.append(ok(action(client, admin, pki.intermediate, REVOKE_CA)))
    for body in bodies:
        assert "PRIVATE KEY" not in str(body)
        assert "key_payload" not in str(body)


@pytest.mark.parametrize("missing", ["common_name", "max_ttl"])
def test_root_ca_without_a_required_field_is_400_naming_it(client: TestClient, admin: Headers, missing: str) -> None:
    body = {"config_type": ROOT_CA, "name": "root", "common_name": "Root CA", "max_ttl": ROOT_MAX_TTL, "key_type": "ec"}
    del body[missing]
    r = client.post(CONFIGS, json=body, headers=admin)
    assert r.status_code == 400
    assert error_field(r) == missing
    assert missing in error_message(r)


@pytest.mark.parametrize(("field", "value"), [("common_name", "c" * 65), ("country", ["USA"])])
def test_root_ca_subject_value_beyond_x509_bounds_is_400(
    client: TestClient, admin: Headers, field: str, value: Any
) -> None:
    body = {"config_type": ROOT_CA, "name": "root", "common_name": "Root CA", "max_ttl": ROOT_MAX_TTL, "key_type": "ec"}
    r = client.post(CONFIGS, json=body | {field: value}, headers=admin)
    assert r.status_code == 400
    assert error_field(r) == field


@pytest.mark.parametrize(("key_type", "key_bits"), [("rsa", 1024), ("ec", 521)])
def test_root_ca_with_key_bits_not_allowed_for_its_key_type_is_400(
    client: TestClient, admin: Headers, key_type: str, key_bits: int
) -> None:
    r = client.post(CONFIGS, headers=admin, json={
        "config_type": ROOT_CA, "name": "root", "common_name": "Root CA", "max_ttl": ROOT_MAX_TTL,
        "key_type": key_type, "key_bits": key_bits,
    })
    assert r.status_code == 400
    assert error_field(r) == "key_bits"


def test_configuration_name_already_taken_is_409(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    r = client.post(CONFIGS, headers=admin, json={
        "config_type": INTERMEDIATE_CA, "name": "root", "common_name": "Again", "max_ttl": "8760h",
        "signing_method": "external", "key_type": "ec",
    })
    assert r.status_code == 409


# -- internally signed intermediates -------------------------------------------


def test_internal_intermediate_waits_for_its_issuer_to_sign_it(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    created = create_intermediate(client, admin, "intermediate", issuer="root")
    assert created["status"] == "signing_required"
    assert "certificate" not in created["data"]


def test_signed_intermediate_requires_a_certificate_template(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    create_intermediate(client, admin, "intermediate", issuer="root")
    answer = ok(action(client, admin, "root", SIGN_INTERMEDIATE, intermediate_certificate_authority="intermediate"))
    stored = get_config(client, admin, "intermediate")
    assert stored["status"] == "certificate_template_required"
    assert stored["data"]["certificate"] == answer["certificate"]
    assert_signed_by(cert_of(answer["certificate"]), ca_cert(client, "root"))


def test_first_template_completes_the_intermediate(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    assert get_config(client, admin, pki.intermediate)["status"] == "configured"


def test_intermediate_cannot_be_signed_by_a_ca_that_is_not_its_issuer(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    create_root(client, admin, "other-root")
    create_intermediate(client, admin, "intermediate", issuer="root")
    r = action(client, admin, "other-root", SIGN_INTERMEDIATE, intermediate_certificate_authority="intermediate")
    assert r.status_code == 400, r.text
    assert get_config(client, admin, "intermediate")["status"] == "signing_required"


def test_intermediate_cannot_outlive_its_issuer(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    create_intermediate(client, admin, "intermediate", issuer="root", max_ttl="90000h")  # allows the ttl asked
    too_long = "87700h"  # the root lives 87600h
    r = action(client, admin, "root", SIGN_INTERMEDIATE, intermediate_certificate_authority="intermediate",
               ttl=too_long)
    assert r.status_code == 400, r.text
    assert error_field(r) == "ttl"
    assert "expire after its issuer" in error_message(r)


def test_intermediate_past_its_not_after_shows_expired(client: TestClient, admin: Headers, clock: FakeClock) -> None:
    pki = build_pki(client, admin, intermediate_ttl="240h")
    clock.advance(days=11)
    assert get_config(client, admin, pki.intermediate)["status"] == "expired"
    listed = ok(client.get(CONFIGS, headers=admin), 200)["configurations"]
    assert {c["name"]: c.get("status") for c in listed}[pki.intermediate] == "expired"


def test_expired_intermediate_issues_no_more_certificates(client: TestClient, admin: Headers, clock: FakeClock) -> None:
    pki = build_pki(client, admin, intermediate_ttl="240h")
    clock.advance(days=11)
    assert issue(client, admin, pki.template, ttl="1h").status_code == 409


# -- externally signed intermediates ------------------------------------------


def test_external_intermediate_shows_its_csr_until_signed(client: TestClient, admin: Headers) -> None:
    created = external_intermediate(client, admin, "external")
    csr = x509.load_pem_x509_csr(created["data"]["csr"].encode())
    assert created["status"] == "signed_certificate_required"
    assert csr.is_signature_valid


def test_external_intermediate_accepts_a_certificate_signed_elsewhere(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "other-root")
    csr = external_intermediate(client, admin, "external")["data"]["csr"]
    ok(action(client, admin, "external", SET_SIGNED, certificate=signed_elsewhere(client, admin, "other-root", csr)))
    stored = get_config(client, admin, "external")
    assert stored["status"] == "certificate_template_required"
    assert_signed_by(cert_of(stored["data"]["certificate"]), ca_cert(client, "other-root"))


def test_externally_signed_intermediate_issues_certificates(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "other-root")
    csr = external_intermediate(client, admin, "external")["data"]["csr"]
    ok(action(client, admin, "external", SET_SIGNED, certificate=signed_elsewhere(client, admin, "other-root", csr)))
    create_template(client, admin, "web", "external")
    secret = ok(issue(client, admin, "web"))
    assert_signed_by(cert_of(secret["certificate"]), ca_cert(client, "external"))
    assert secret["ca_chain"][-1] == ca_cert(client, "other-root").public_bytes(serialization.Encoding.PEM).decode()


def test_set_signed_with_a_certificate_for_another_key_is_400(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "other-root")
    external_intermediate(client, admin, "external")
    foreign_csr = external_intermediate(client, admin, "another")["data"]["csr"]
    foreign = signed_elsewhere(client, admin, "other-root", foreign_csr)
    r = action(client, admin, "external", SET_SIGNED, certificate=foreign)
    assert r.status_code == 400, r.text
    assert get_config(client, admin, "external")["status"] == "signed_certificate_required"


# -- certificate templates ----------------------------------------------------


def test_template_on_a_root_ca_is_400(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    r = client.post(CONFIGS, headers=admin, json={
        "config_type": TEMPLATE, "name": "web", "certificate_authority": "root", "allowed_domains": ["example.com"],
    })
    assert r.status_code == 400
    assert error_field(r) == "certificate_authority"


def test_template_on_an_unknown_ca_is_404(client: TestClient, admin: Headers) -> None:
    r = client.post(CONFIGS, headers=admin, json={
        "config_type": TEMPLATE, "name": "web", "certificate_authority": "nowhere", "allowed_domains": ["example.com"],
    })
    assert r.status_code == 404


@pytest.mark.parametrize(("field", "value"), [("policy_identifiers", ["not-an-oid"]), ("country", ["USA"])])
def test_template_that_could_never_issue_is_400(client: TestClient, admin: Headers, field: str, value: Any) -> None:
    pki = build_pki(client, admin)
    r = client.post(CONFIGS, headers=admin, json={
        "config_type": TEMPLATE, "name": "broken", "certificate_authority": pki.intermediate, field: value,
    })
    assert r.status_code == 400
    assert error_field(r) == field


def test_template_patch_applies_to_the_next_issuance(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    assert issue(client, admin, pki.template, common_name="api.example.org").status_code == 400
    patch = {"allowed_domains": ["example.org"]}
    patched = ok(client.patch(f"{CONFIGS}/{pki.template}", json=patch, headers=admin), 200)
    assert patched["allowed_domains"] == ["example.org"]
    assert issue(client, admin, pki.template, common_name="api.example.org").status_code == 201


def test_template_certificate_authority_cannot_be_patched(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    create_intermediate(client, admin, "other-intermediate", issuer=pki.root)
    r = client.patch(f"{CONFIGS}/{pki.template}", json={"certificate_authority": "other-intermediate"}, headers=admin)
    assert r.status_code == 400
    assert error_field(r) == "certificate_authority"
    assert get_config(client, admin, pki.template)["certificate_authority"] == pki.intermediate


# -- private certificates -----------------------------------------------------


def test_private_cert_answer_carries_certificate_key_and_chain(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    secret = ok(issue(client, admin, pki.template))
    cert = cert_of(secret["certificate"])
    key = serialization.load_pem_private_key(secret["private_key"].encode(), password=None)
    assert public_der(key.public_key()) == public_der(cert.public_key())
    assert_signed_by(cert, cert_of(secret["issuing_ca"]))
    assert secret["ca_chain"] == [secret["issuing_ca"], get_config(client, admin, pki.root)["data"]["certificate"]]


def test_private_cert_metadata_describes_its_certificate(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    secret = ok(issue(client, admin, pki.template, ttl="720h"))
    cert = cert_of(secret["certificate"])
    meta = ok(client.get(f"{V2}/secrets/{secret['id']}/metadata", headers=admin), 200)
    assert meta["common_name"] == "www.example.com"
    assert COLON_HEX.fullmatch(meta["serial_number"]) and serial_of(meta["serial_number"]) == cert.serial_number
    assert meta["validity"]["not_after"] == meta["expiration_date"].replace(".000Z", "Z")
    assert meta["expiration_date"].startswith(cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%S"))
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= timedelta(hours=720)
    assert meta["issuer"] == cert.issuer.rfc4514_string()
    assert meta["key_algorithm"] == "RSA2048"
    assert meta["signing_algorithm"] == "SHA256-ECDSA"
    assert (meta["certificate_authority"], meta["certificate_template"]) == (pki.intermediate, pki.template)


def test_private_cert_common_name_longer_than_x509_allows_is_400(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    r = issue(client, admin, pki.template, common_name="a" * 60 + ".example.com")  # RFC 5280: ub-common-name is 64
    assert r.status_code == 400
    assert error_field(r) == "common_name"


def test_private_cert_ttl_beyond_the_template_max_ttl_is_400(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    r = issue(client, admin, pki.template, ttl="2161h")
    assert r.status_code == 400
    assert error_field(r) == "ttl"


def test_private_cert_cannot_outlive_its_intermediate(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin, intermediate_ttl="240h")
    r = issue(client, admin, pki.template, ttl="720h")
    assert r.status_code == 400
    assert error_field(r) == "ttl"
    assert "outlive its issuing CA" in error_message(r)


def test_a_template_without_a_ttl_issues_up_to_what_is_left_of_its_ca(client: TestClient, admin: Headers,
                                                                        clock: FakeClock) -> None:
    """No ttl on the template or the request: the certificate would live the CA's max_ttl,
    which the CA itself was signed for, so it is cut at the CA's own end instead of refused."""
    create_root(client, admin, "root")
    create_intermediate(client, admin, "int", issuer="root", max_ttl="8760h")
    ok(action(client, admin, "root", SIGN_INTERMEDIATE, intermediate_certificate_authority="int"))
    configure(client, admin, config_type=TEMPLATE, name="no-ttl", certificate_authority="int",
              allowed_domains=["example.com"], allow_subdomains=True)
    clock.advance(hours=1)
    leaf = cert_of(ok(issue(client, admin, "no-ttl"))["certificate"])
    assert leaf.not_valid_after_utc == ca_cert(client, "int").not_valid_after_utc


def test_an_intermediate_is_not_signed_for_longer_than_its_max_ttl(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    create_intermediate(client, admin, "int", issuer="root", max_ttl="100h")
    r = action(client, admin, "root", SIGN_INTERMEDIATE, intermediate_certificate_authority="int", ttl="8760h")
    assert r.status_code == 400 and error_field(r) == "ttl", r.text
    assert error_message(r) == "ttl: 31536000s is longer than the max_ttl of 'int' (360000s)"
    assert get_config(client, admin, "int")["status"] == "signing_required"
    ok(action(client, admin, "root", SIGN_INTERMEDIATE, intermediate_certificate_authority="int", ttl="100h"))


def test_private_cert_from_a_csr_stores_no_private_key(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin, key_type="ec")  # the CSR's key: EC P-256
    key, csr = new_csr("csr.example.com")
    created = ok(issue(client, admin, pki.template, common_name=None, csr=csr))
    stored = ok(client.get(f"{V2}/secrets/{created['id']}", headers=admin), 200)
    assert "private_key" not in created and "private_key" not in stored
    assert public_der(cert_of(stored["certificate"]).public_key()) == public_der(key.public_key())


def _rsa_csr(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "rsa.example.com")]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def test_a_csr_whose_key_the_template_does_not_allow_is_refused_naming_both(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin, key_type="rsa", key_bits=3072)
    for csr, key in ((_rsa_csr(1024), "RSA1024"), (_rsa_csr(2048), "RSA2048"), (new_csr()[1], "ECDSA256")):
        r = issue(client, admin, pki.template, name=f"k{key}", common_name=None, csr=csr)
        assert r.status_code == 400 and error_field(r) == "csr", r.text
        assert error_message(r) == f"csr: its key is {key}; the template asks for rsa of 3072 bits or more"
    ok(issue(client, admin, pki.template, name="big-enough", common_name=None, csr=_rsa_csr(4096)))
    assert ok(client.get(f"{V2}/secrets", headers=admin), 200)["total_count"] == 1
    create_template(client, admin, "ec-web", pki.intermediate, key_type="ec", key_bits=256)
    k1 = ec.generate_private_key(ec.SECP256K1())  # 256 bits, but not the NIST curve an ec template means
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "k1.example.com")]))
           .sign(k1, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    r = issue(client, admin, "ec-web", name="k1", common_name=None, csr=csr)
    assert r.status_code == 400 and error_field(r) == "csr", r.text
    assert error_message(r) == "csr: its key is on curve secp256k1, not a NIST curve (P-256, P-384, P-521)"
    p521 = ec.generate_private_key(ec.SECP521R1())  # a NIST curve, more bits than asked: signed
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "p521.example.com")]))
           .sign(p521, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    ok(issue(client, admin, "ec-web", name="p521", common_name=None, csr=csr))


def test_the_csrs_names_win_over_the_requests_by_default(client: TestClient, admin: Headers) -> None:
    """use_csr_common_name and use_csr_sans (on unless the template turns them off): the
    certificate names what the CSR asks for; the request's names fill in only what it lacks."""
    pki = build_pki(client, admin, key_type="ec")
    _, csr = new_csr("csr.example.com")
    created = ok(issue(client, admin, pki.template, common_name="req.example.com", alt_names=["reqsan.example.com"],
                       csr=csr))
    cert = cert_of(created["certificate"])
    assert cert.subject.rfc4514_string() == "CN=csr.example.com"
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["csr.example.com"]
    create_template(client, admin, "asked", pki.intermediate, key_type="ec", use_csr_common_name=False,
                    use_csr_sans=False)
    asked = cert_of(ok(issue(client, admin, "asked", name="asked", common_name="req.example.com", csr=csr))["certificate"])
    assert asked.subject.rfc4514_string() == "CN=req.example.com"


def test_a_certificate_for_a_clients_csr_renews_for_the_same_key(client: TestClient, admin: Headers, core: Any) -> None:
    """A new version (a rotation, scheduled or asked for) signs the CSR again: the client
    keeps its key, and no key is made here; a new CSR given with a version is signed from
    then on."""
    pki = build_pki(client, admin, key_type="ec")
    key, csr = new_csr("csr.example.com")
    created = ok(issue(client, admin, pki.template, common_name=None, csr=csr))
    rotated = ok(client.post(f"{V2}/secrets/{created['id']}/rotate", json={}, headers=admin))
    current = ok(client.get(f"{V2}/secrets/{created['id']}/versions/current", headers=admin), 200)
    assert current["id"] == rotated["version_id"] and "private_key" not in current
    renewed = cert_of(current["certificate"])
    assert public_der(renewed.public_key()) == public_der(key.public_key())
    assert renewed.serial_number != cert_of(created["certificate"]).serial_number
    new_key, new_csr_pem = new_csr("csr.example.com")
    ok(client.post(f"{V2}/secrets/{created['id']}/versions", json={"csr": new_csr_pem}, headers=admin))
    ok(client.post(f"{V2}/secrets/{created['id']}/rotate", json={}, headers=admin))
    current = ok(client.get(f"{V2}/secrets/{created['id']}/versions/current", headers=admin), 200)
    assert public_der(cert_of(current["certificate"]).public_key()) == public_der(new_key.public_key())


def test_a_certificate_for_a_clients_key_without_its_csr_kept_renews_for_the_key_it_certifies(
        client: TestClient, admin: Headers, core: Any) -> None:
    """Issued from a CSR before CSRs were kept: renewed for the key and names of its current
    certificate, never for a key made here."""
    from sqlalchemy import select, update

    from lifecycle.store import schema as t

    pki = build_pki(client, admin, key_type="ec")
    key, csr = new_csr("legacy.example.com")
    created = ok(issue(client, admin, pki.template, common_name=None, csr=csr))
    s = t.secrets.c
    with core.store.engine.begin() as conn:  # as stored before CSRs were kept
        attributes = conn.execute(select(s.attributes).where(s.id == created["id"])).scalar_one()
        del attributes["csr"]
        conn.execute(update(t.secrets).where(s.id == created["id"]).values(attributes=attributes))
    ok(client.post(f"{V2}/secrets/{created['id']}/rotate", json={}, headers=admin))
    current = ok(client.get(f"{V2}/secrets/{created['id']}/versions/current", headers=admin), 200)
    renewed = cert_of(current["certificate"])
    assert public_der(renewed.public_key()) == public_der(key.public_key()) and "private_key" not in current
    assert renewed.subject.rfc4514_string() == "CN=legacy.example.com"


def test_email_addresses_among_the_names_are_email_sans(client: TestClient, admin: Headers) -> None:
    """RFC 5280 4.2.1.6: an email address is an rfc822Name, never a dNSName (as Vault does);
    so is an email common name, and the email SANs of a client's CSR."""
    pki = build_pki(client, admin, allow_bare_domains=True, key_type="ec")
    cert = cert_of(ok(issue(client, admin, pki.template, common_name="alice@example.com",
                            alt_names=["bob@example.com", "www.example.com"]))["certificate"])
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["alice@example.com", "bob@example.com"]
    assert san.get_values_for_type(x509.DNSName) == ["www.example.com"]
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "carol@example.com")]))
           .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("carol@example.com")]), critical=False)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    signed = cert_of(ok(issue(client, admin, pki.template, name="carol", common_name=None, csr=csr))["certificate"])
    assert signed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.RFC822Name) == ["carol@example.com"]
    refused = issue(client, admin, pki.template, name="mallory", alt_names=["mallory@evil.org"])
    assert refused.status_code == 400 and "mallory@evil.org" in error_message(refused)


def test_a_name_outside_the_cas_name_constraints_is_refused_whatever_the_template_allows(
        client: TestClient, admin: Headers) -> None:
    """A certificate naming what its CA's (or a CA above's) permitted_dns_domains exclude would
    fail every verifier's chain check (OpenSSL: permitted subtree violation): refused."""
    create_root(client, admin, "root", permitted_dns_domains=["example.com"])
    create_intermediate(client, admin, "int", issuer="root")
    ok(action(client, admin, "root", SIGN_INTERMEDIATE, intermediate_certificate_authority="int"))
    create_template(client, admin, "any", "int", allow_any_name=True, enforce_hostnames=False)
    for asked, field, name in ((dict(common_name="www.example.org"), "common_name", "www.example.org"),
                               (dict(common_name="a.example.com", alt_names=["b.example.net"]), "alt_names",
                                "b.example.net")):
        r = issue(client, admin, "any", name="outside", **asked)
        assert r.status_code == 400 and error_field(r) == field, r.text
        assert error_message(r) == (f"{field}: '{name}' is outside the permitted_dns_domains=example.com of CA "
                                    "'CN=root Root CA'")
    inside = cert_of(ok(issue(client, admin, "any", name="inside", common_name="deep.a.example.com",
                              alt_names=["example.com", "bob@example.org"]))["certificate"])
    assert inside.subject.rfc4514_string() == "CN=deep.a.example.com"


def test_template_allowed_secret_groups_refuses_other_groups(client: TestClient, admin: Headers) -> None:
    group = ok(client.post(f"{V2}/secret_groups", json={"name": "pki-team"}, headers=admin))
    pki = build_pki(client, admin, allowed_secret_groups=group["id"])
    refused = issue(client, admin, pki.template, name="outside")
    assert refused.status_code == 403
    assert "'default'" in error_message(refused)


def test_template_allowed_secret_groups_issues_into_a_listed_group(client: TestClient, admin: Headers) -> None:
    group = ok(client.post(f"{V2}/secret_groups", json={"name": "pki-team"}, headers=admin))
    pki = build_pki(client, admin, allowed_secret_groups=group["id"])
    assert issue(client, admin, pki.template, name="inside", secret_group_id=group["id"]).status_code == 201


@pytest.mark.parametrize(("fields", "rule"), [
    ({"common_name": "www.evil.com"}, "allowed_domains=example.com"),
    ({"alt_names": ["*.example.com"]}, "allow_wildcard_certificates=false"),
    ({"ip_sans": "10.0.0.1"}, "allow_ip_sans=false"),
    ({"uri_sans": "spiffe://example.com/web"}, "allowed_uri_sans is empty"),
])
def test_template_name_rule_violation_is_400_naming_the_rule(
    client: TestClient, admin: Headers, fields: dict[str, Any], rule: str
) -> None:
    pki = build_pki(client, admin, allow_wildcard_certificates=False, allow_ip_sans=False)
    r = issue(client, admin, pki.template, **fields)
    assert r.status_code == 400
    assert rule in error_message(r)
    assert f"template '{pki.template}'" in error_message(r)


def test_rotation_issues_a_new_certificate_with_a_new_serial_and_key(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    first = ok(issue(client, admin, pki.template))
    current = rotate(client, admin, first["id"])
    assert cert_of(current["certificate"]).serial_number != cert_of(first["certificate"]).serial_number
    assert current["private_key"] != first["private_key"]
    assert_signed_by(cert_of(current["certificate"]), ca_cert(client, pki.intermediate))


def test_after_rotate_intermediate_new_certificates_are_signed_by_the_new_key(
    client: TestClient, admin: Headers
) -> None:
    pki = build_pki(client, admin)
    before = ok(issue(client, admin, pki.template, name="before"))  # the CA is opened (and kept open) here
    old_ca = ca_cert(client, pki.intermediate)
    ok(action(client, admin, pki.intermediate, ROTATE_INTERMEDIATE))
    new_ca = ca_cert(client, pki.intermediate)
    assert public_der(new_ca.public_key()) != public_der(old_ca.public_key())
    after = ok(issue(client, admin, pki.template, name="after"))
    assert_signed_by(cert_of(before["certificate"]), old_ca)
    assert_signed_by(cert_of(after["certificate"]), new_ca)


def test_an_external_intermediates_csr_asks_for_the_names_it_was_configured_with(client: TestClient,
                                                                                  admin: Headers) -> None:
    """A signer outside builds the certificate from the CSR: the configured SANs must be in it."""
    create_intermediate(client, admin, "ext", signing_method="external", alt_names=["alt.example.com"],
                        ip_sans="10.9.9.9", uri_sans="spiffe://example.com/ca")
    csr = x509.load_pem_x509_csr(get_config(client, admin, "ext")["data"]["csr"].encode())
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["alt.example.com"]  # the CN has a space: not a DNS name
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.9.9.9"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://example.com/ca"]
    assert csr.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_ca_shows_its_certificates_serial_in_colon_hex_as_the_contract_does(client: TestClient,
                                                                              admin: Headers) -> None:
    created = create_root(client, admin, "root", serial_number="ABC123")  # the subject's serialNumber
    cert = cert_of(created["data"]["certificate"])
    assert cert.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)[0].value == "ABC123"
    for shown in (created, get_config(client, admin, "root")):
        assert COLON_HEX.fullmatch(shown["serial_number"]) and serial_of(shown["serial_number"]) == cert.serial_number
        assert shown["data"]["serial_number"] == shown["serial_number"]


def test_an_intermediate_keeps_its_subject_through_re_signing_and_rotation(client: TestClient, admin: Headers) -> None:
    """The configuration shows its certificate's serial as `serial_number`, the same name the
    request gives the subject's serialNumber attribute: signing again or rotating must build
    the subject the CA was configured with, not one with the certificate's serial in it."""
    create_root(client, admin, "root")
    create_intermediate(client, admin, "int", issuer="root", serial_number="42", organization=["Example"])
    subjects = []
    for step in ("sign", "sign again", "rotate", "rotate again"):
        if step.startswith("sign"):
            ok(action(client, admin, "root", SIGN_INTERMEDIATE, intermediate_certificate_authority="int"))
        else:
            ok(action(client, admin, "int", ROTATE_INTERMEDIATE))
        subjects.append(ca_cert(client, "int").subject.rfc4514_string())
    assert subjects == ["CN=int Intermediate CA,2.5.4.5=42,O=Example"] * 4


def test_a_ca_key_swapped_in_the_store_refuses_to_sign_after_it_has_signed(
    core: Any, client: TestClient, admin: Headers
) -> None:
    from sqlalchemy import select, update

    from lifecycle.store import schema as t

    pki = build_pki(client, admin)
    ok(issue(client, admin, pki.template, name="first"))
    c = t.configurations.c
    with core.store.engine.begin() as conn:  # the root's sealed key, moved onto the intermediate's row
        src = conn.execute(select(c.key_payload, c.key_wrapped, c.key_id).where(c.name == pki.root)).one()
        conn.execute(update(t.configurations).where(c.name == pki.intermediate)
                     .values(key_payload=src.key_payload, key_wrapped=src.key_wrapped, key_id=src.key_id))
    r = issue(client, admin, pki.template, name="second")
    assert r.status_code == 500 and r.json()["errors"][0]["code"] == "integrity_failure", r.text


def test_rotation_keeps_the_previous_certificate_readable(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    first = ok(issue(client, admin, pki.template))
    rotate(client, admin, first["id"])
    previous = ok(client.get(f"{V2}/secrets/{first['id']}/versions/previous", headers=admin), 200)
    assert (previous["certificate"], previous["private_key"]) == (first["certificate"], first["private_key"])


def test_revoking_a_private_cert_answers_the_revocation_time(
    client: TestClient, admin: Headers, clock: FakeClock
) -> None:
    pki = build_pki(client, admin)
    secret = ok(issue(client, admin, pki.template))
    clock.advance(days=1)
    answer = ok(revoke(client, admin, secret['id']))
    assert answer["revocation_time_seconds"] == int(clock.now.timestamp())


def test_revoked_private_cert_is_on_its_intermediates_crl(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    secret = ok(issue(client, admin, pki.template))
    ok(revoke(client, admin, secret['id']))
    crl = crl_of(client, pki.intermediate)
    assert_in_crl(crl, cert_of(secret["certificate"]).serial_number)
    assert crl.is_signature_valid(ca_cert(client, pki.intermediate).public_key())  # type: ignore[arg-type]


def test_revoking_a_private_cert_twice_is_409(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    secret = ok(issue(client, admin, pki.template))
    ok(revoke(client, admin, secret['id']))
    r = revoke(client, admin, secret['id'])
    assert r.status_code == 409


def test_version_action_revokes_only_that_versions_certificate(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    first = ok(issue(client, admin, pki.template))
    current = rotate(client, admin, first["id"])
    answer = ok(revoke(client, admin, first["id"], "previous"))
    crl = crl_of(client, pki.intermediate)
    assert "revocation_time_seconds" in answer
    assert_in_crl(crl, cert_of(first["certificate"]).serial_number)
    assert crl.get_revoked_certificate_by_serial_number(cert_of(current["certificate"]).serial_number) is None


def test_rotating_a_revoked_private_cert_clears_its_revocation_time(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    secret = ok(issue(client, admin, pki.template))
    ok(revoke(client, admin, secret['id']))
    rotate(client, admin, secret["id"])
    meta = ok(client.get(f"{V2}/secrets/{secret['id']}/metadata", headers=admin), 200)
    assert meta["state_description"] == "active"
    assert "revocation_time_seconds" not in meta and "revocation_time_rfc3339" not in meta


def test_rotate_crl_bumps_the_crl_number(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    before = crl_number(crl_of(client, pki.intermediate))
    ok(action(client, admin, pki.intermediate, ROTATE_CRL))
    assert crl_number(crl_of(client, pki.intermediate)) == before + 1


def test_crl_disable_serves_a_signed_empty_crl(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    secret = ok(issue(client, admin, pki.template))
    ok(revoke(client, admin, secret['id']))
    ok(client.patch(f"{CONFIGS}/{pki.intermediate}", json={"crl_disable": True}, headers=admin), 200)
    crl = crl_of(client, pki.intermediate)
    assert len(crl) == 0
    assert crl.is_signature_valid(ca_cert(client, pki.intermediate).public_key())  # type: ignore[arg-type]


def test_revoked_intermediate_is_on_its_roots_crl(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    answer = ok(action(client, admin, pki.intermediate, REVOKE_CA))
    assert "revocation_time_seconds" in answer
    assert get_config(client, admin, pki.intermediate)["status"] == "revoked"
    assert_in_crl(crl_of(client, pki.root), ca_cert(client, pki.intermediate).serial_number)


def test_revoking_an_intermediate_revokes_every_certificate_it_held(client: TestClient, admin: Headers) -> None:
    """After a rotation and a new signing, leaves signed under the earlier certificates still
    chain to them: revoking the CA puts all three on the root's CRL, each once."""
    pki = build_pki(client, admin)
    held = [ca_cert(client, pki.intermediate)]
    ok(action(client, admin, pki.intermediate, ROTATE_INTERMEDIATE))
    held.append(ca_cert(client, pki.intermediate))
    ok(action(client, admin, pki.root, SIGN_INTERMEDIATE, intermediate_certificate_authority=pki.intermediate))
    held.append(ca_cert(client, pki.intermediate))
    assert len({c.serial_number for c in held}) == 3
    assert "earlier_serials" not in get_config(client, admin, pki.intermediate)  # internal
    ok(action(client, admin, pki.intermediate, REVOKE_CA))
    crl = crl_of(client, pki.root)
    assert sorted(r.serial_number for r in crl) == sorted(c.serial_number for c in held)


def test_revoked_intermediate_issues_no_more_certificates(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    ok(action(client, admin, pki.intermediate, REVOKE_CA))
    assert issue(client, admin, pki.template).status_code == 409


# -- key generations: what a rotated-out key signed stays checkable -------------


def url_path(url: str) -> str:
    return urlsplit(url).path


def fetch(client: TestClient, path: str) -> bytes:
    r = client.get(path)
    assert r.status_code == 200, (path, r.text)
    return r.content


def crl_url_in(cert: x509.Certificate) -> str:
    point = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value[0]
    return url_path(point.full_name[0].value)  # type: ignore[index]


def issuer_url_in(cert: x509.Certificate) -> str:
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return url_path(next(d.access_location.value for d in aia if d.access_method == x509.AuthorityInformationAccessOID.CA_ISSUERS))


def rotated_pki(client: TestClient, admin: Headers) -> tuple[x509.Certificate, x509.Certificate]:
    """An intermediate that embeds both URLs and has one leaf from before its rotation, one
    from after: (before, after)."""
    create_root(client, admin, "root")
    create_intermediate(client, admin, "int", issuer="root", issuing_certificates_urls_encoded=True)
    ok(action(client, admin, "root", SIGN_INTERMEDIATE, intermediate_certificate_authority="int"))
    create_template(client, admin, "web", "int")
    before = ok(issue(client, admin, "web", name="before"))
    ok(action(client, admin, "int", ROTATE_INTERMEDIATE))
    after = ok(issue(client, admin, "web", name="after"))
    for secret in (before, after):
        ok(revoke(client, admin, secret["id"]))
    return cert_of(before["certificate"]), cert_of(after["certificate"])


def test_after_rotate_intermediate_each_key_signs_the_crl_its_certificates_name(client: TestClient,
                                                                               admin: Headers) -> None:
    """A relying party fetches the issuer and the CRL from the URLs in the leaf: for a leaf of
    the rotated-out key, those are its certificate and a CRL it signed (OpenSSL checks a CRL
    with the key of the leaf's issuer), listing the leaf once it is revoked."""
    before, after = rotated_pki(client, admin)
    assert crl_url_in(before) != crl_url_in(after) and issuer_url_in(before) != issuer_url_in(after)
    for leaf in (before, after):
        issuer = x509.load_der_x509_certificate(fetch(client, issuer_url_in(leaf)))
        assert_signed_by(leaf, issuer)
        crl = x509.load_der_x509_crl(fetch(client, crl_url_in(leaf)))
        assert crl.issuer == issuer.subject
        assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        assert_in_crl(crl, leaf.serial_number)
    current = ca_cert(client, "int")  # the URLs without a generation serve the current key's
    assert public_der(current.public_key()) != public_der(before.public_key())
    assert crl_of(client, "int").is_signature_valid(current.public_key())  # type: ignore[arg-type]


def test_a_rotated_out_keys_crl_numbers_go_on_rising(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    ok(issue(client, admin, pki.template, name="before"))
    first = crl_of(client, pki.intermediate)
    ok(action(client, admin, pki.intermediate, ROTATE_INTERMEDIATE))
    ok(action(client, admin, pki.intermediate, ROTATE_CRL))
    old = x509.load_der_x509_crl(fetch(client, f"{V2}/pki/{pki.intermediate}/crl/1"))
    assert crl_number(old) > crl_number(first)
    assert old.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier == \
        first.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier


def test_a_key_generation_the_ca_never_had_or_no_longer_keeps_is_404(client: TestClient, admin: Headers,
                                                                      clock: FakeClock) -> None:
    pki = build_pki(client, admin, intermediate_ttl="240h")
    ok(action(client, admin, pki.intermediate, ROTATE_INTERMEDIATE))  # the new certificate: 5 years
    for path in ("crl/3", "ca/3", "crl/0", "crl/x", "crl/1e3", "ca/-1", "crl/01", "crl/%D9%A1"):
        r = client.get(f"{V2}/pki/{pki.intermediate}/{path}")
        assert r.status_code == 404, (path, r.text)
    assert "key generation 3" in error_message(client.get(f"{V2}/pki/{pki.intermediate}/crl/3"))
    assert client.get(f"{V2}/pki/{pki.intermediate}/crl/1").status_code == 200
    assert client.get(f"{V2}/pki/{pki.intermediate}/ca/2").status_code == 200
    clock.advance(days=11)  # the first key's certificate has expired: nothing it signed is valid
    ok(action(client, admin, pki.intermediate, ROTATE_CRL))
    for path in ("crl/1", "ca/1"):
        assert client.get(f"{V2}/pki/{pki.intermediate}/{path}").status_code == 404, path
    assert client.get(f"{V2}/pki/{pki.intermediate}/crl/2").status_code == 200


def test_a_key_re_signed_with_a_shorter_certificate_is_kept_while_its_longest_is_valid(client: TestClient,
                                                                                      admin: Headers,
                                                                                      clock: FakeClock) -> None:
    """A leaf signed under the key's first certificate can outlive its last one: the key must
    go on signing that leaf's CRL until the longest of its certificates expires."""
    pki = build_pki(client, admin, intermediate_ttl="8760h")
    leaf = cert_of(ok(issue(client, admin, pki.template, name="leaf", ttl="2000h"))["certificate"])
    ok(action(client, admin, pki.root, SIGN_INTERMEDIATE, intermediate_certificate_authority=pki.intermediate,
              ttl="240h"))
    ok(action(client, admin, pki.intermediate, ROTATE_INTERMEDIATE))
    clock.advance(days=11)  # the key's last certificate has expired, the leaf has not
    ok(action(client, admin, pki.intermediate, ROTATE_CRL))
    crl = x509.load_der_x509_crl(fetch(client, crl_url_in(leaf)))
    assert crl.is_signature_valid(cert_of(get_config(client, admin, pki.intermediate)["data"]["certificate"])
                                  .public_key()) is False  # not the new key's
    assert crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier == \
        leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier


def test_rotating_an_intermediate_never_signed_gives_it_a_key_and_signs_it(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    create_intermediate(client, admin, "int", issuer="root")
    answer = ok(action(client, admin, "int", ROTATE_INTERMEDIATE))
    assert_signed_by(cert_of(answer["config"]["certificate"]), ca_cert(client, "root"))
    assert client.get(f"{V2}/pki/int/crl/1").status_code == 404  # the unsigned key signed nothing: not kept


def test_a_crl_asked_for_while_a_rotation_commits_is_the_generation_asked_for(client: TestClient, admin: Headers,
                                                                              core: Core, clock: FakeClock) -> None:
    """The CRL is due, so it is rebuilt in a second transaction; a rotation committing between
    the two must not put the new key's CRL at the old generation's URL."""
    pki = build_pki(client, admin)
    old = ca_cert(client, pki.intermediate)
    clock.advance(hours=60)  # past half the CRL's 72 h
    real = core.store.transaction
    rotated: list[bool] = []

    @contextmanager
    def rotation_first() -> Iterator[Any]:
        if not rotated:
            rotated.append(True)
            run_action(core, SYSTEM, pki.intermediate, {"action_type": ROTATE_INTERMEDIATE})
        with real() as tx:
            yield tx

    core.store.transaction = rotation_first  # type: ignore[method-assign]
    try:
        der = crls.current(core, pki.intermediate, 1)
    finally:
        core.store.transaction = real  # type: ignore[method-assign]
    assert rotated and x509.load_der_x509_crl(der).is_signature_valid(old.public_key())  # type: ignore[arg-type]


def test_the_urls_without_a_generation_serve_the_key_certificates_from_before_generations_name(
    client: TestClient, admin: Headers, core: Core
) -> None:
    """A CA created before this release has no key generation; its certificates embed `/crl`
    and `/ca`. After a rotation those two go on serving its key of then (while it is kept);
    `crl.pem`, `ca.pem` and `ca_chain` show the current key's."""
    pki = build_pki(client, admin)
    with core.store.transaction() as tx:  # as the release before left it
        attrs = dict(tx.get_config(pki.intermediate).attributes)  # type: ignore[union-attr]
        del attrs["key_generation"]
        tx.update_config(pki.intermediate, attributes=attrs)
    old = ca_cert(client, pki.intermediate)
    ok(action(client, admin, pki.intermediate, ROTATE_INTERMEDIATE))
    current = cert_of(get_config(client, admin, pki.intermediate)["data"]["certificate"])
    assert ca_cert(client, pki.intermediate) == old
    assert crl_of(client, pki.intermediate).is_signature_valid(old.public_key())  # type: ignore[arg-type]
    assert cert_of(client.get(f"{V2}/pki/{pki.intermediate}/ca.pem").text) == current
    pem_crl = x509.load_pem_x509_crl(client.get(f"{V2}/pki/{pki.intermediate}/crl.pem").content)
    assert pem_crl.is_signature_valid(current.public_key())  # type: ignore[arg-type]
    fresh = cert_of(ok(issue(client, admin, pki.template, name="after"))["certificate"])
    assert crl_url_in(fresh).endswith(f"/pki/{pki.intermediate}/crl/2")


def test_rotate_intermediate_locks_the_issuer_before_the_ca_as_sign_intermediate_does(
    client: TestClient, admin: Headers, core: Core
) -> None:
    """Taken in opposite orders, two admins' actions on a CA and its issuer deadlock on PostgreSQL."""
    from fixtures.sql_trace import sent_statements

    pki = build_pki(client, admin)
    orders = []
    for name, body in ((pki.intermediate, {"action_type": ROTATE_INTERMEDIATE}),
                       (pki.root, {"action_type": SIGN_INTERMEDIATE, "intermediate_certificate_authority": pki.intermediate})):
        with sent_statements(core.store.engine) as sent:
            run_action(core, SYSTEM, name, body)
        locked = [s.parameters for s in sent if "FROM configurations" in s.statement and "FOR UPDATE" in s.statement]
        orders.append([p["name"] for p in locked if isinstance(p, dict) and "name" in p])
    if core.store.backend != "postgresql":
        assert orders == [[], []]  # SQLite locks the whole database at the first write
        return
    for order in orders:
        assert order.index(pki.root) < order.index(pki.intermediate), orders


# -- deleting configurations ----------------------------------------------------


def test_ca_used_by_a_template_cannot_be_deleted(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    r = client.delete(f"{CONFIGS}/{pki.intermediate}", headers=admin)
    assert r.status_code == 409
    assert pki.template in error_message(r)


def test_template_used_by_a_private_cert_cannot_be_deleted(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    ok(issue(client, admin, pki.template))
    assert client.delete(f"{CONFIGS}/{pki.template}", headers=admin).status_code == 409


def test_template_can_be_deleted_once_its_certificates_are_gone(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    secret = ok(issue(client, admin, pki.template))
    assert client.delete(f"{V2}/secrets/{secret['id']}", headers=admin).status_code == 204
    assert client.delete(f"{CONFIGS}/{pki.template}", headers=admin).status_code == 204
    assert client.get(f"{CONFIGS}/{pki.template}", headers=admin).status_code == 404


# -- public CA and CRL downloads ------------------------------------------------


def test_ca_certificate_downloads_need_no_token(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    stored = get_config(client, admin, pki.intermediate)["data"]
    der = client.get(f"{V2}/pki/{pki.intermediate}/ca")
    assert x509.load_der_x509_certificate(der.content) == cert_of(stored["certificate"])
    assert client.get(f"{V2}/pki/{pki.intermediate}/ca.pem").text == stored["certificate"]
    chain = x509.load_pem_x509_certificates(client.get(f"{V2}/pki/{pki.intermediate}/ca_chain").content)
    assert chain == [cert_of(pem) for pem in stored["ca_chain"]] and len(chain) == 2


def test_crl_downloads_need_no_token(client: TestClient, admin: Headers) -> None:
    pki = build_pki(client, admin)
    der = x509.load_der_x509_crl(client.get(f"{V2}/pki/{pki.root}/crl").content)
    pem = x509.load_pem_x509_crl(client.get(f"{V2}/pki/{pki.root}/crl.pem").content)
    assert der == pem
    assert der.is_signature_valid(ca_cert(client, pki.root).public_key())  # type: ignore[arg-type]


@pytest.mark.parametrize("download", ["ca", "ca.pem", "ca_chain", "crl", "crl.pem"])
def test_download_for_an_unknown_ca_is_404(client: TestClient, download: str) -> None:
    r = client.get(f"{V2}/pki/nowhere/{download}")
    assert r.status_code == 404
    assert r.json()["errors"][0]["message"] == "certificate authority 'nowhere' was not found"  # one wording for all five


@pytest.mark.parametrize("download", ["ca", "ca.pem", "ca_chain", "crl", "crl.pem"])
def test_download_for_an_unsigned_intermediate_is_404(client: TestClient, admin: Headers, download: str) -> None:
    external_intermediate(client, admin, "external")
    assert client.get(f"{V2}/pki/external/{download}").status_code == 404


# -- listing and reading configurations ------------------------------------------


def test_list_configurations_pages_through_all_of_them(client: TestClient, admin: Headers) -> None:
    for name in ("root-a", "root-b", "root-c"):
        create_root(client, admin, name)
    first = ok(client.get(CONFIGS, params={"limit": 2}, headers=admin), 200)
    second = ok(client.get(CONFIGS, params={"limit": 2, "offset": 2}, headers=admin), 200)
    names = [c["name"] for c in first["configurations"] + second["configurations"]]
    assert first["total_count"] == 3 and "next" in first and "previous" in second
    assert sorted(names) == ["root-a", "root-b", "root-c"]


def test_list_configurations_with_an_unknown_type_is_400_naming_the_parameter(
    client: TestClient, admin: Headers
) -> None:
    r = client.get(CONFIGS, params={"config_types": "private_cert"}, headers=admin)
    assert r.status_code == 400
    assert error_field(r) == "config_types"


def test_list_configurations_filters_by_secret_type_and_sorts_as_the_sdk_asks(client: TestClient, admin: Headers,
                                                                              clock: FakeClock) -> None:
    for name in ("root-b", "root-a"):
        create_root(client, admin, name)
        clock.advance(seconds=1)
    configure(client, admin, config_type="public_cert_configuration_ca_acme", name="acme-c",
              directory_url="https://ca.test/dir")

    def names(**params: Any) -> list[str]:
        return [c["name"] for c in ok(client.get(CONFIGS, params=params, headers=admin), 200)["configurations"]]

    assert names() == ["root-b", "root-a", "acme-c"]  # creation order
    assert names(secret_types="private_cert") == ["root-b", "root-a"]
    assert names(secret_types="public_cert,private_cert") == ["root-b", "root-a", "acme-c"]
    assert names(secret_types="iam_credentials") == []  # a contract type with no configurations here
    assert names(sort="name") == ["acme-c", "root-a", "root-b"]
    assert names(sort="-name") == ["root-b", "root-a", "acme-c"]
    assert names(sort="-secret_type") == ["acme-c", "root-b", "root-a"]  # ties in creation order
    assert names(sort="config_type", secret_types="private_cert") == ["root-b", "root-a"]
    for params, field in (({"secret_types": "nonsense"}, "secret_types"), ({"sort": "bogus"}, "sort")):
        r = client.get(CONFIGS, params=params, headers=admin)
        assert r.status_code == 400 and error_field(r) == field, r.text


def test_get_with_another_accepted_configuration_type_is_404(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    r = client.get(f"{CONFIGS}/root", headers=admin | {"X-Sm-Accept-Configuration-Type": TEMPLATE})
    assert r.status_code == 404


def test_get_with_the_matching_accepted_configuration_type_answers(client: TestClient, admin: Headers) -> None:
    create_root(client, admin, "root")
    r = client.get(f"{CONFIGS}/root", headers=admin | {"X-Sm-Accept-Configuration-Type": ROOT_CA})
    assert r.status_code == 200


def test_intermediate_without_a_ttl_is_capped_at_its_issuers_end(client: TestClient, admin: Headers, clock: FakeClock) -> None:
    create_root(client, admin, "short-root")
    create_intermediate(client, admin, "long-int", issuer="short-root")
    root = x509.load_pem_x509_certificate(get_config(client, admin, "short-root")["data"]["certificate"].encode())
    clock.advance(days=365 * 6)  # the root now has less time left than the intermediate's max_ttl
    r = action(client, admin, "short-root", SIGN_INTERMEDIATE, intermediate_certificate_authority="long-int")
    assert r.status_code == 201, r.text
    signed = x509.load_pem_x509_certificate(r.json()["certificate"].encode())
    assert signed.not_valid_after_utc <= root.not_valid_after_utc
