"""Certificates issued through the API, checked by real tools: `openssl verify`, a real TLS
handshake with Python's ssl, and the CRL fetched from the URL embedded in the leaf."""

from __future__ import annotations

import dataclasses
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from api.app import create_app
from fixtures.live_server import serve_factory
from lifecycle.core import Core, system_clock

pytestmark = pytest.mark.slow
TIMEOUT_S = 30


@dataclasses.dataclass
class Api:
    base: str
    headers: dict[str, str]

    def post(self, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        resp = httpx.post(self.base + path, json=body, headers=self.headers, timeout=TIMEOUT_S)
        assert resp.status_code == status, resp.text
        return resp.json()  # type: ignore[no-any-return]


@pytest.fixture
def api(core: Core, admin: dict[str, str]) -> Iterator[Api]:
    # Real tools check validity against the real time, so this server runs on the system clock.
    with serve_factory(lambda url: create_app(dataclasses.replace(core, public_url=url, clock=system_clock))) as base:
        yield Api(base, admin)


def _hierarchy(api: Api, key_type: str, suffix: str) -> None:
    api.post("/api/v2/configurations", {
        "config_type": "private_cert_configuration_root_ca", "name": f"root-{suffix}", "common_name": f"Root {suffix}",
        "max_ttl": "87600h", "key_type": key_type, "key_bits": 256 if key_type == "ec" else 2048,
        "crl_distribution_points_encoded": True, "issuing_certificates_urls_encoded": True,
    })
    api.post("/api/v2/configurations", {
        "config_type": "private_cert_configuration_intermediate_ca", "name": f"int-{suffix}",
        "common_name": f"Intermediate {suffix}", "max_ttl": "43800h", "signing_method": "internal",
        "issuer": f"root-{suffix}", "key_type": key_type, "key_bits": 256 if key_type == "ec" else 2048,
        "crl_distribution_points_encoded": True, "issuing_certificates_urls_encoded": True,
    })
    api.post(f"/api/v2/configurations/root-{suffix}/actions", {
        "action_type": "private_cert_configuration_action_sign_intermediate",
        "intermediate_certificate_authority": f"int-{suffix}",
    })
    api.post("/api/v2/configurations", {
        "config_type": "private_cert_configuration_template", "name": f"web-{suffix}",
        "certificate_authority": f"int-{suffix}", "allowed_domains": ["example.test"], "allow_subdomains": True,
        "allow_localhost": True, "max_ttl": "2160h", "key_type": key_type, "key_bits": 256 if key_type == "ec" else 2048,
    })


def _issue(api: Api, suffix: str, name: str, common_name: str, **extra: Any) -> dict[str, Any]:
    return api.post("/api/v2/secrets", {
        "secret_type": "private_cert", "name": name, "certificate_template": f"web-{suffix}",
        "common_name": common_name, "ttl": "720h", **extra,
    })


def _write(tmp: Path, **files: str) -> dict[str, Path]:
    out = {}
    for name, text in files.items():
        path = tmp / f"{name}.pem"
        path.write_text(text)
        out[name] = path
    return out


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=TIMEOUT_S)


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_openssl_verifies_issued_chain(api: Api, tmp_path: Path, key_type: str) -> None:
    _hierarchy(api, key_type, key_type)
    leaf = _issue(api, key_type, "www", "www.example.test")
    root = httpx.get(f"{api.base}/api/v2/pki/root-{key_type}/ca.pem", timeout=TIMEOUT_S).text
    files = _write(tmp_path, root=root, intermediate=leaf["issuing_ca"], leaf=leaf["certificate"])
    result = _openssl("verify", "-CAfile", str(files["root"]), "-untrusted", str(files["intermediate"]), str(files["leaf"]))
    assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), result.stdout + result.stderr
    other = _openssl("verify", "-CAfile", str(files["intermediate"]), str(files["leaf"]))
    assert other.returncode != 0  # the intermediate alone is not a trust anchor


def test_tls_handshake_with_issued_leaf_trusting_only_the_root(api: Api, tmp_path: Path) -> None:
    _hierarchy(api, "ec", "tls")
    leaf = _issue(api, "tls", "localhost-cert", "localhost.example.test", alt_names=["localhost"])
    root = httpx.get(f"{api.base}/api/v2/pki/root-tls/ca.pem", timeout=TIMEOUT_S).text
    files = _write(tmp_path, chain=leaf["certificate"] + leaf["issuing_ca"], key=leaf["private_key"], root=root)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(files["chain"], files["key"])
    client_ctx = ssl.create_default_context(cafile=str(files["root"]))

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def accept_one() -> None:
        try:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"hello over tls")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=accept_one, daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as raw:
        with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.recv(64) == b"hello over tls"
            peer = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))  # type: ignore[arg-type]
    thread.join(TIMEOUT_S)
    listener.close()
    assert not errors, errors
    issued = x509.load_pem_x509_certificate(leaf["certificate"].encode())
    assert peer.serial_number == issued.serial_number


def test_revoked_serial_is_in_the_crl_at_the_url_embedded_in_the_leaf(api: Api, tmp_path: Path) -> None:
    _hierarchy(api, "rsa", "crl")
    leaf = _issue(api, "crl", "revoke-me", "app.example.test")
    answer = api.post(f"/api/v2/secrets/{leaf['id']}/actions", {"action_type": "private_cert_action_revoke_certificate"})
    assert answer["revocation_time_seconds"] > 0
    cert = x509.load_pem_x509_certificate(leaf["certificate"].encode())
    dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    url = dp[0].full_name[0].value  # type: ignore[index]
    assert url.startswith(api.base)
    der = httpx.get(url, timeout=TIMEOUT_S).content
    (tmp_path / "crl.der").write_bytes(der)
    text = _openssl("crl", "-inform", "DER", "-in", str(tmp_path / "crl.der"), "-noout", "-text")
    assert text.returncode == 0, text.stderr
    assert f"{cert.serial_number:X}" in text.stdout.replace(":", "").upper()
    root = httpx.get(f"{api.base}/api/v2/pki/root-crl/ca.pem", timeout=TIMEOUT_S).text
    files = _write(tmp_path, root=root, intermediate=leaf["issuing_ca"], leaf=leaf["certificate"])
    _openssl("crl", "-inform", "DER", "-in", str(tmp_path / "crl.der"), "-out", str(tmp_path / "crl.pem"))
    root_crl = httpx.get(f"{api.base}/api/v2/pki/root-crl/crl.pem", timeout=TIMEOUT_S).text
    (tmp_path / "root-crl.pem").write_text(root_crl)
    checked = _openssl("verify", "-crl_check_all", "-CAfile", str(files["root"]), "-untrusted", str(files["intermediate"]),
                       "-CRLfile", str(tmp_path / "crl.pem"), "-CRLfile", str(tmp_path / "root-crl.pem"), str(files["leaf"]))
    assert checked.returncode != 0 and "revoked" in (checked.stdout + checked.stderr)


def _embedded(cert: x509.Certificate) -> tuple[str, str | None]:
    """The CRL URL and (if any) the issuer URL a certificate embeds."""
    crl = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value[0].full_name[0].value  # type: ignore[index]
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return crl, None
    return crl, next(d.access_location.value for d in aia if d.access_method == x509.AuthorityInformationAccessOID.CA_ISSUERS)


def _checked_as_a_relying_party(tmp: Path, root_pem: str, leaf_pem: str, tag: str) -> subprocess.CompletedProcess[str]:
    """`openssl verify -crl_check_all` of a leaf with what its URLs serve: its issuer from the
    AIA URL, the CRLs from the distribution points of the leaf and of that issuer."""
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    crl_url, issuer_url = _embedded(leaf)
    assert issuer_url is not None
    issuer = x509.load_der_x509_certificate(httpx.get(issuer_url, timeout=TIMEOUT_S).content)
    root_crl_url, _ = _embedded(issuer)
    files = _write(tmp, **{f"root-{tag}": root_pem, f"leaf-{tag}": leaf_pem,
                           f"issuer-{tag}": issuer.public_bytes(serialization.Encoding.PEM).decode()})
    crls = []
    for i, url in enumerate((crl_url, root_crl_url)):
        path = tmp / f"crl-{tag}-{i}.pem"
        crl = x509.load_der_x509_crl(httpx.get(url, timeout=TIMEOUT_S).content)
        path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        crls += ["-CRLfile", str(path)]
    return _openssl("verify", "-crl_check_all", *crls, "-CAfile", str(files[f"root-{tag}"]),
                    "-untrusted", str(files[f"issuer-{tag}"]), str(files[f"leaf-{tag}"]))


def test_after_rotate_intermediate_leaves_of_both_keys_are_checked_with_what_their_urls_serve(
    api: Api, tmp_path: Path
) -> None:
    """OpenSSL checks a CRL with the key of the leaf's issuer: a leaf of the rotated-out key
    must find at its URLs that key's certificate and a CRL that key signed."""
    _hierarchy(api, "ec", "rot")
    old = _issue(api, "rot", "old-leaf", "old.example.test")
    api.post("/api/v2/configurations/int-rot/actions", {"action_type": "private_cert_configuration_action_rotate_intermediate"})
    new = _issue(api, "rot", "new-leaf", "new.example.test")
    root = httpx.get(f"{api.base}/api/v2/pki/root-rot/ca.pem", timeout=TIMEOUT_S).text
    for leaf in (old, new):
        fine = _checked_as_a_relying_party(tmp_path, root, leaf["certificate"], leaf["name"])
        assert fine.returncode == 0 and fine.stdout.strip().endswith(": OK"), fine.stdout + fine.stderr
    api.post(f"/api/v2/secrets/{old['id']}/actions", {"action_type": "private_cert_action_revoke_certificate"})
    revoked = _checked_as_a_relying_party(tmp_path, root, old["certificate"], "old-revoked")
    assert revoked.returncode != 0 and "certificate revoked" in revoked.stdout + revoked.stderr, revoked.stdout + revoked.stderr
    still = _checked_as_a_relying_party(tmp_path, root, new["certificate"], "new-again")
    assert still.returncode == 0, still.stdout + still.stderr


def test_externally_signed_intermediate_issues_verifiable_leaves(api: Api, tmp_path: Path) -> None:
    key, root = tmp_path / "ext-root.key", tmp_path / "ext-root.pem"
    made = _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
                    "-out", str(root), "-days", "3650", "-subj", "/CN=External Root",
                    "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    assert made.returncode == 0, made.stderr
    inter = api.post("/api/v2/configurations", {
        "config_type": "private_cert_configuration_intermediate_ca", "name": "ext-int", "common_name": "Ext Intermediate",
        "max_ttl": "8760h", "signing_method": "external",
    })
    assert inter["status"] == "signed_certificate_required"
    (tmp_path / "int.csr").write_text(inter["data"]["csr"])
    (tmp_path / "ext.cnf").write_text("basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n"
                                      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    signed = _openssl("x509", "-req", "-in", str(tmp_path / "int.csr"), "-CA", str(root), "-CAkey", str(key),
                      "-CAcreateserial", "-days", "365", "-extfile", str(tmp_path / "ext.cnf"), "-out", str(tmp_path / "int.pem"))
    assert signed.returncode == 0, signed.stderr
    answer = api.post("/api/v2/configurations/ext-int/actions", {
        "action_type": "private_cert_configuration_action_set_signed",
        "certificate": (tmp_path / "int.pem").read_text() + root.read_text(),
    })
    assert answer["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    api.post("/api/v2/configurations", {
        "config_type": "private_cert_configuration_template", "name": "ext-web", "certificate_authority": "ext-int",
        "allowed_domains": ["example.test"], "allow_subdomains": True, "max_ttl": "720h",
    })
    leaf = api.post("/api/v2/secrets", {
        "secret_type": "private_cert", "name": "ext-leaf", "certificate_template": "ext-web",
        "common_name": "svc.example.test", "ttl": "24h",
    })
    files = _write(tmp_path, intermediate=leaf["issuing_ca"], leaf=leaf["certificate"])
    result = _openssl("verify", "-CAfile", str(root), "-untrusted", str(files["intermediate"]), str(files["leaf"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert leaf["ca_chain"][-1].strip() == root.read_text().strip()
