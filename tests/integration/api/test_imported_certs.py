"""Imported certificates over HTTP: import with a chain and key, the metadata the contract
shows, every bad input of the corpus answered with its 4xx and code (never a 500, nothing
written), reimport moving `current` while `previous` stays readable, and locks.

Every test runs on SQLite and PostgreSQL (the `database_url` fixture is parametrized).
The managed CSR flow is in test_imported_certs_managed_csr.py.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.testclient import TestClient

from fixtures.certs import data, text
from lifecycle.vocabulary import Role

V2 = "/api/v2"
Headers = dict[str, str]
OVER_CAP = "\n" * (100 * 1024 + 1)  # the contract caps each PEM field at 100 KB


def create(client: TestClient, admin: Headers, name: str = "web-tls", **fields: Any) -> Any:
    return client.post(f"{V2}/secrets", headers=admin, json={"secret_type": "imported_cert", "name": name, **fields})


def imported(client: TestClient, admin: Headers, **fields: Any) -> dict[str, Any]:
    r = create(client, admin, **fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


def reimport(client: TestClient, admin: Headers, secret_id: str, **fields: Any) -> Any:
    return client.post(f"{V2}/secrets/{secret_id}/versions", headers=admin, json=fields)


def assert_error(resp: Any, status: int, code: str, field: str) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["errors"][0]
    assert (error["code"], error["target"]["name"]) == (code, field), error
    assert error["message"].startswith(f"{field}: ")
    assert "MII" not in resp.text  # no PEM content echoed back


RSA_LEAF = {"certificate": text("rsa-leaf.pem")}

# (fields, status, code, field): every bad case of the corpus, plus the size caps.
BAD_INPUTS = [
    ({"certificate": text("garbage.txt")}, 400, "not_pem", "certificate"),
    ({"certificate": text("truncated.pem")}, 400, "malformed_pem", "certificate"),
    ({"certificate": text("begin-noise.txt")}, 413, "payload_too_large", "certificate"),
    ({"certificate": text("trailing-junk.pem")}, 400, "text_outside_pem", "certificate"),
    ({"certificate": text("bad-base64.pem")}, 400, "malformed_pem", "certificate"),
    ({"certificate": text("corrupt-certificate.pem")}, 400, "invalid_certificate", "certificate"),
    ({"certificate": text("rsa-leaf.der.b64")}, 400, "der_not_pem", "certificate"),
    ({"certificate": data("rsa-leaf.der").decode("latin-1")}, 400, "der_not_pem", "certificate"),
    ({"certificate": base64.b64encode(data("rsa-leaf.p12")).decode()}, 400, "pkcs12_not_pem", "certificate"),
    ({"certificate": text("rsa-fullchain.pem")}, 400, "multiple_certificates", "certificate"),
    ({"certificate": text("leaf-claims-ca.pem")}, 400, "certificate_is_ca", "certificate"),
    ({"certificate": text("rsa-leaf.key")}, 400, "not_a_certificate", "certificate"),
    ({**RSA_LEAF, "private_key": text("other-rsa.key")}, 400, "private_key_mismatch", "private_key"),
    ({**RSA_LEAF, "private_key": text("rsa-leaf-encrypted.key")}, 400, "private_key_encrypted", "private_key"),
    ({**RSA_LEAF, "private_key": text("rsa-leaf-legacy-encrypted.key")}, 400, "private_key_encrypted", "private_key"),
    ({**RSA_LEAF, "private_key": text("dsa.key")}, 400, "unsupported_key_type", "private_key"),
    ({**RSA_LEAF, "intermediate": text("ec-chain.pem")}, 400, "intermediate_not_issuer", "intermediate"),
    ({**RSA_LEAF, "intermediate": text("broken-bundle.pem")}, 400, "intermediate_chain_broken", "intermediate"),
    ({**RSA_LEAF, "intermediate": text("garbage.txt")}, 400, "not_pem", "intermediate"),
    ({**RSA_LEAF, "intermediate": text("rsa-chain.pem") + OVER_CAP}, 413, "payload_too_large", "intermediate"),
    ({**RSA_LEAF, "private_key": text("rsa-leaf.key") + OVER_CAP}, 413, "payload_too_large", "private_key"),
    ({"certificate": text("rsa-leaf.pem") + OVER_CAP}, 413, "payload_too_large", "certificate"),
]
BAD_IDS = [f"{code}-{i}" for i, (_, _, code, _) in enumerate(BAD_INPUTS)]


def test_import_with_chain_and_key_shows_the_contract_fields(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = imported(client, admin, certificate=text("rsa-leaf.pem"), intermediate=text("rsa-chain-reversed.pem"),
                       private_key=text("rsa-leaf.key"), labels=["prod"])
    assert created["state"] == 1 and created["versions_total"] == 1
    assert created["common_name"] == "rsa.example.com"
    assert created["alt_names"] == ["rsa.example.com", "www.rsa.example.com"]
    assert created["issuer"] == "CN=rsa test intermediate CA,O=certkeeper test corpus"
    assert created["serial_number"] == "10:10"
    assert created["validity"] == {"not_before": "2025-01-01T00:00:00.000Z", "not_after": "2035-01-01T00:00:00.000Z"}
    assert created["expiration_date"] == "2035-01-01T00:00:00.000Z"
    assert (created["key_algorithm"], created["signing_algorithm"]) == ("RSA2048", "SHA256-RSA")
    assert created["intermediate_included"] is True and created["private_key_included"] is True
    assert created["certificate"] == text("rsa-leaf.pem")
    assert created["intermediate"] == text("rsa-chain.pem")  # put in chain order
    assert created["private_key"] == text("rsa-leaf.key")


def test_payload_only_with_the_secret_never_in_metadata(client, admin, token_for) -> None:  # type: ignore[no-untyped-def]
    sid = imported(client, admin, certificate=text("ec-leaf.pem"), private_key=text("ec-leaf.key"))["id"]
    reader = token_for(Role.READER)
    meta = client.get(f"{V2}/secrets/{sid}/metadata", headers=reader)
    assert meta.status_code == 200 and meta.json()["key_algorithm"] == "ECDSA256"
    assert "PRIVATE KEY" not in meta.text and "certificate" not in meta.json()
    assert client.get(f"{V2}/secrets/{sid}", headers=reader).status_code == 403
    full = client.get(f"{V2}/secrets/{sid}", headers=token_for(Role.SECRETS_READER)).json()
    assert full["private_key"] == text("ec-leaf.key") and full["certificate"] == text("ec-leaf.pem")
    assert "intermediate" not in full and full["intermediate_included"] is False


def test_private_key_is_not_stored_in_plaintext(client, admin, store) -> None:  # type: ignore[no-untyped-def]
    sid = imported(client, admin, **RSA_LEAF, private_key=text("rsa-leaf.key"))["id"]
    key_line = text("rsa-leaf.key").splitlines()[1]
    with store.reader() as tx:
        rows = [repr(v) + repr(v.payload) + repr(v.attributes) for v in tx.list_versions(sid)]
        secret = tx.get_secret(sid)
    assert rows and not any(key_line in row for row in rows)
    assert key_line not in repr(secret)


@pytest.mark.parametrize(("fields", "status", "code", "field"), BAD_INPUTS, ids=BAD_IDS)
def test_bad_import_gets_its_4xx_and_writes_nothing(client, admin, fields, status, code, field) -> None:  # type: ignore[no-untyped-def]
    assert_error(create(client, admin, **fields), status, code, field)
    assert client.get(f"{V2}/secrets", headers=admin).json()["total_count"] == 0


@pytest.mark.parametrize(("fields", "status", "code", "field"), BAD_INPUTS, ids=BAD_IDS)
def test_bad_reimport_gets_its_4xx_and_keeps_current(client, admin, fields, status, code, field) -> None:  # type: ignore[no-untyped-def]
    secret = imported(client, admin, **RSA_LEAF)
    assert_error(reimport(client, admin, secret["id"], **fields), status, code, field)
    versions = client.get(f"{V2}/secrets/{secret['id']}/versions", headers=admin).json()
    assert versions["total_count"] == 1 and versions["versions"][0]["serial_number"] == "10:10"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "certificate: is required"),
        ({**RSA_LEAF, "managed_csr": {"common_name": "a.example.com"}}, "not both"),
        ({**RSA_LEAF, "expiration_date": "2099-01-01T00:00:00Z"}, "expiration_date: is not a known field"),
        ({"certificate": 42}, "certificate"),
        ({"managed_csr": "yes"}, "managed_csr"),
    ],
)
def test_shape_errors_are_400(client, admin, body, fragment) -> None:  # type: ignore[no-untyped-def]
    resp = create(client, admin, **body)
    assert resp.status_code == 400 and fragment in resp.json()["errors"][0]["message"], resp.text


def test_expired_certificate_is_accepted_and_reported(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = imported(client, admin, certificate=text("expired.pem"), private_key=text("expired.key"))
    assert created["expiration_date"] == "2021-01-01T00:00:00.000Z"
    assert created["state"] == 3 and created["state_description"] == "deactivated"


def test_not_yet_valid_certificate_is_accepted_and_reported(client, admin) -> None:  # type: ignore[no-untyped-def]
    created = imported(client, admin, certificate=text("not-yet-valid.pem"))
    assert created["validity"]["not_before"] == "2030-01-01T00:00:00.000Z"
    assert created["expiration_date"] == "2031-01-01T00:00:00.000Z"


def test_reimport_moves_current_and_keeps_previous_readable(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = imported(client, admin, certificate=text("rsa-leaf.pem"), intermediate=text("rsa-chain.pem"),
                      private_key=text("rsa-leaf.key"))
    r = reimport(client, admin, secret["id"], certificate=text("rsa-leaf-renewed.pem"),
                 private_key=text("rsa-leaf-renewed.key"), version_custom_metadata={"ticket": "CHG-1"})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["alias"] == "current" and new["serial_number"] == "10:11"
    assert new["expiration_date"] == "2036-01-01T00:00:00.000Z"
    # Nothing of the previous version is carried over: no intermediate was sent this time.
    assert "intermediate" not in new and new["intermediate_included"] is False
    current = client.get(f"{V2}/secrets/{secret['id']}", headers=admin).json()
    assert current["certificate"] == text("rsa-leaf-renewed.pem") and current["private_key"] == text("rsa-leaf-renewed.key")
    assert current["serial_number"] == "10:11" and current["expiration_date"] == "2036-01-01T00:00:00.000Z"
    assert current["intermediate_included"] is False and current["versions_total"] == 2
    previous = client.get(f"{V2}/secrets/{secret['id']}/versions/previous", headers=admin).json()
    assert previous["certificate"] == text("rsa-leaf.pem") and previous["intermediate"] == text("rsa-chain.pem")
    assert previous["private_key"] == text("rsa-leaf.key")
    assert previous["serial_number"] == "10:10" and previous["expiration_date"] == "2035-01-01T00:00:00.000Z"
    listed = client.get(f"{V2}/secrets/{secret['id']}/versions", headers=admin).json()["versions"]
    assert [(v["alias"], v["serial_number"], v["intermediate_included"]) for v in listed] == [
        ("current", "10:11", False), ("previous", "10:10", True)]


def test_reimport_without_a_key_drops_the_key(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = imported(client, admin, **RSA_LEAF, private_key=text("rsa-leaf.key"))
    assert reimport(client, admin, secret["id"], certificate=text("rsa-leaf.pem")).status_code == 201
    current = client.get(f"{V2}/secrets/{secret['id']}", headers=admin).json()
    assert "private_key" not in current and current["private_key_included"] is False


def test_reimport_of_an_expired_secret_reactivates_it(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = imported(client, admin, certificate=text("expired.pem"))
    assert reimport(client, admin, secret["id"], **RSA_LEAF).status_code == 201
    meta = client.get(f"{V2}/secrets/{secret['id']}/metadata", headers=admin).json()
    assert meta["state"] == 1 and meta["expiration_date"] == "2035-01-01T00:00:00.000Z"


def test_locked_previous_blocks_reimport_with_412(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = imported(client, admin, **RSA_LEAF)
    assert reimport(client, admin, secret["id"], certificate=text("rsa-leaf-renewed.pem")).status_code == 201
    locked = client.post(f"{V2}/secrets/{secret['id']}/versions/previous/locks_bulk", headers=admin,
                         json={"locks": [{"name": "lb-eu"}]})
    assert locked.status_code == 201, locked.text
    refused = reimport(client, admin, secret["id"], certificate=text("rsa-leaf.pem"))
    assert refused.status_code == 412 and refused.json()["errors"][0]["code"] == "locked"
    assert "lb-eu" in refused.json()["errors"][0]["message"]
    listed = client.get(f"{V2}/secrets/{secret['id']}/versions", headers=admin).json()
    assert listed["total_count"] == 2 and listed["versions"][0]["serial_number"] == "10:11"


def test_version_fields_of_other_types_are_refused(client, admin) -> None:  # type: ignore[no-untyped-def]
    secret = imported(client, admin, **RSA_LEAF)
    resp = reimport(client, admin, secret["id"], payload="x")
    assert resp.status_code == 400 and "payload: not a field of a imported_cert version" in resp.text


def test_lookup_by_name_returns_the_certificate(client, admin) -> None:  # type: ignore[no-untyped-def]
    imported(client, admin, name="edge", certificate=text("ec-leaf.pem"), intermediate=text("ec-chain.pem"))
    resp = client.get(f"{V2}/secret_groups/default/secret_types/imported_cert/secrets/edge", headers=admin)
    assert resp.status_code == 200 and resp.json()["intermediate"] == text("ec-chain.pem")


def test_sort_by_expiration_date(client, admin) -> None:  # type: ignore[no-untyped-def]
    imported(client, admin, name="later", certificate=text("rsa-leaf-renewed.pem"))
    imported(client, admin, name="sooner", certificate=text("expired.pem"))
    imported(client, admin, name="middle", certificate=text("rsa-leaf.pem"))
    listed = client.get(f"{V2}/secrets", headers=admin, params={"sort": "expiration_date"}).json()["secrets"]
    assert [s["name"] for s in listed] == ["sooner", "middle", "later"]
