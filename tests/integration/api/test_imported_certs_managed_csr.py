"""Managed CSR over HTTP: certkeeper makes the key and CSR, the CSR is readable in metadata
while the key stays in the sealed payload, the signed certificate is paired with the held
key (and refused when it does not match), metadata patches remake the CSR, and
`rotate_keys` puts the next CSR on a new key.

Every test runs on SQLite and PostgreSQL (the `database_url` fixture is parametrized).
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.testclient import TestClient

from fixtures.certs import sign_csr, text
from lifecycle.vocabulary import Role

V2 = "/api/v2"
Headers = dict[str, str]


def managed(client: TestClient, admin: Headers, **options: Any) -> dict[str, Any]:
    options.setdefault("common_name", "app.example.com")
    r = client.post(f"{V2}/secrets", headers=admin,
                    json={"secret_type": "imported_cert", "name": "app-tls", "managed_csr": options})
    assert r.status_code == 201, r.text
    return dict(r.json())


def metadata(client: TestClient, admin: Headers, sid: str) -> dict[str, Any]:
    return dict(client.get(f"{V2}/secrets/{sid}/metadata", headers=admin).json())


def patch_csr(client: TestClient, admin: Headers, sid: str, **options: Any) -> Any:
    return client.patch(f"{V2}/secrets/{sid}/metadata", headers=admin, json={"managed_csr": options})


def reimport(client: TestClient, admin: Headers, sid: str, **fields: Any) -> Any:
    return client.post(f"{V2}/secrets/{sid}/versions", headers=admin, json=fields)


def csr_key(csr_pem: str) -> bytes:
    return spki(x509.load_pem_x509_csr(csr_pem.encode()).public_key())


def spki(public_key: Any) -> bytes:
    return bytes(public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def key_of(private_key_pem: str) -> bytes:
    return spki(serialization.load_pem_private_key(private_key_pem.encode(), password=None).public_key())


def test_create_makes_a_key_and_a_csr_in_pre_activation(client, admin, token_for) -> None:  # type: ignore[no-untyped-def]
    created = managed(client, admin, key_type="ec", alt_names="api.example.com", organization=["Example"])
    assert created["state"] == 0 and created["state_description"] == "pre_activation"
    assert created["expiration_date"] is None and created["versions_total"] == 1
    csr_options = created["managed_csr"]
    assert (csr_options["key_type"], csr_options["key_bits"], csr_options["rotate_keys"]) == ("ec", 256, False)
    csr = x509.load_pem_x509_csr(csr_options["csr"].encode())
    assert csr.is_signature_valid
    names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["app.example.com", "api.example.com"]
    # The creator gets the key; a Reader sees the CSR but never the key.
    assert key_of(csr_options["private_key"]) == csr_key(csr_options["csr"])
    meta = client.get(f"{V2}/secrets/{created['id']}/metadata", headers=token_for(Role.READER))
    assert meta.json()["managed_csr"]["csr"] == csr_options["csr"]
    assert "private_key" not in meta.json()["managed_csr"] and "PRIVATE KEY" not in meta.text


def test_signed_certificate_is_paired_with_the_held_key(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = managed(client, admin)
    signed = sign_csr(created["managed_csr"]["csr"])
    r = reimport(client, admin, created["id"], certificate=signed, intermediate=text("rsa-chain.pem"))
    assert r.status_code == 201, r.text
    secret = client.get(f"{V2}/secrets/{created['id']}", headers=admin).json()
    assert secret["state"] == 1 and secret["certificate"] == signed
    assert secret["private_key"] == created["managed_csr"]["private_key"] and secret["private_key_included"] is True
    assert secret["common_name"] == "app.example.com" and secret["expiration_date"] == "2026-06-01T00:00:00.000Z"
    # Without rotate_keys the next renewal signs the same CSR.
    assert secret["managed_csr"]["csr"] == created["managed_csr"]["csr"]


def test_certificate_for_another_key_is_refused(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = managed(client, admin)
    refused = reimport(client, admin, created["id"], certificate=text("rsa-leaf.pem"))
    assert refused.status_code == 400, refused.text
    error = refused.json()["errors"][0]
    assert (error["code"], error["target"]["name"]) == ("private_key_mismatch", "certificate")
    assert "managed CSR" in error["message"]
    assert metadata(client, admin, created["id"])["state"] == 0


def test_certificate_with_its_own_key_is_still_accepted(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = managed(client, admin)
    r = reimport(client, admin, created["id"], certificate=text("rsa-leaf.pem"), private_key=text("rsa-leaf.key"))
    assert r.status_code == 201 and r.json()["private_key"] == text("rsa-leaf.key")


def test_rotate_keys_puts_the_next_csr_on_a_new_key(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = managed(client, admin, key_type="ec", rotate_keys=True)
    first_key = csr_key(created["managed_csr"]["csr"])
    assert reimport(client, admin, created["id"], certificate=sign_csr(created["managed_csr"]["csr"], "ec")).status_code == 201
    after = client.get(f"{V2}/secrets/{created['id']}", headers=admin).json()
    assert key_of(after["private_key"]) == first_key  # the certificate keeps the key it was issued for
    next_csr = after["managed_csr"]["csr"]
    assert csr_key(next_csr) != first_key and key_of(after["managed_csr"]["private_key"]) == csr_key(next_csr)
    # The renewal signed for the new CSR pairs with the new key; the old CSR's certificate no longer does.
    stale = reimport(client, admin, created["id"], certificate=sign_csr(created["managed_csr"]["csr"], "ec"))
    assert stale.status_code == 400 and stale.json()["errors"][0]["code"] == "private_key_mismatch"
    assert reimport(client, admin, created["id"], certificate=sign_csr(next_csr, "ec")).status_code == 201
    renewed = client.get(f"{V2}/secrets/{created['id']}", headers=admin).json()
    assert key_of(renewed["private_key"]) == csr_key(next_csr)
    previous = client.get(f"{V2}/secrets/{created['id']}/versions/previous", headers=admin).json()
    assert key_of(previous["private_key"]) == first_key


def test_patch_remakes_the_csr_with_the_same_key(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = managed(client, admin, key_type="ec")
    r = patch_csr(client, admin, created["id"], alt_names="new.example.com", organization=["Example"])
    assert r.status_code == 200, r.text
    options = r.json()["managed_csr"]
    assert options["alt_names"] == "new.example.com" and options["key_type"] == "ec"
    assert options["common_name"] == "app.example.com"  # unset options keep their values
    assert options["csr"] != created["managed_csr"]["csr"]
    assert csr_key(options["csr"]) == csr_key(created["managed_csr"]["csr"])
    names = x509.load_pem_x509_csr(options["csr"].encode()).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert names.value.get_values_for_type(x509.DNSName) == ["app.example.com", "new.example.com"]
    assert metadata(client, admin, created["id"])["managed_csr"]["csr"] == options["csr"]


def test_patch_refuses_a_new_key_type_without_rotate_keys(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = managed(client, admin, key_type="ec")
    refused = patch_csr(client, admin, created["id"], key_type="rsa")
    assert refused.status_code == 400 and "set rotate_keys" in refused.json()["errors"][0]["message"]
    assert patch_csr(client, admin, created["id"], key_type="rsa", rotate_keys=True).status_code == 200


def test_patch_adds_a_csr_to_an_imported_certificate_with_its_key(client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"{V2}/secrets", headers=admin, json={
        "secret_type": "imported_cert", "name": "web", "certificate": text("ec-leaf.pem"), "private_key": text("ec-leaf.key")})
    sid = r.json()["id"]
    patched = patch_csr(client, admin, sid, common_name="ec.example.com")
    assert patched.status_code == 200, patched.text
    options = patched.json()["managed_csr"]
    assert (options["key_type"], options["key_bits"]) == ("ec", 256)  # taken from the imported key
    assert csr_key(options["csr"]) == key_of(text("ec-leaf.key"))
    # The renewal signed for that CSR is paired with the imported key.
    assert reimport(client, admin, sid, certificate=sign_csr(options["csr"], "ec")).status_code == 201
    assert client.get(f"{V2}/secrets/{sid}", headers=admin).json()["private_key"] == text("ec-leaf.key")


def test_patch_needs_a_key_to_sign_with(client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"{V2}/secrets", headers=admin,
                    json={"secret_type": "imported_cert", "name": "web", "certificate": text("rsa-leaf.pem")})
    refused = patch_csr(client, admin, r.json()["id"], common_name="rsa.example.com")
    assert refused.status_code == 400 and "holds no private key" in refused.json()["errors"][0]["message"]


def test_bad_csr_options_are_400_naming_the_option(client, admin) -> None:  # type: ignore[no-untyped-def]
    cases = [
        ({"key_type": "dsa"}, "managed_csr.key_type"),
        ({"key_type": "rsa", "key_bits": 1000}, "managed_csr.key_bits"),
        ({"ip_sans": "nope"}, "managed_csr.ip_sans"),
        ({"key_usage": "Teleport"}, "managed_csr.key_usage"),
        ({"common_name": None, "require_cn": True}, "managed_csr.common_name"),
        ({"country": ["Germany"]}, "managed_csr.country"),
        ({"key_bits": "2048"}, "managed_csr.key_bits"),
    ]
    for options, field in cases:
        body = {"secret_type": "imported_cert", "name": "bad-csr", "managed_csr": {"common_name": "a.example.com", **options}}
        if options.get("common_name", "x") is None:
            body["managed_csr"].pop("common_name")
        resp = client.post(f"{V2}/secrets", headers=admin, json=body)
        assert resp.status_code == 400, (options, resp.text)
        assert resp.json()["errors"][0]["target"]["name"] == field, (options, resp.text)
    assert client.get(f"{V2}/secrets", headers=admin).json()["total_count"] == 0
