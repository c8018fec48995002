"""Names X.509 cannot hold and numbers past a field's range get a 400 naming the field, and
nothing is stored: internationalized names not in A-label form, wildcard name constraints,
PrintableString subject attributes, path lengths, rotation schedules, webhook URLs, event
times and label filters. Each of these answered 500 before (found by fuzzing the API)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from starlette.testclient import TestClient

from tests.integration.api.test_private_pki import (
    CONFIGS,
    SIGN_CSR,
    SIGN_INTERMEDIATE,
    action,
    build_pki,
    cert_of,
    create_intermediate,
    create_root,
    error_field,
    error_message,
    issue,
    new_csr,
    ok,
)

Headers = dict[str, str]
V2 = "/api/v2"
ROOT_BODY = {"config_type": "private_cert_configuration_root_ca", "name": "odd-root", "common_name": "Odd Root",
             "max_ttl": "8760h", "key_type": "ec", "key_bits": 256}


def _refused(response: Any, field: str, words: str) -> None:
    assert response.status_code == 400, response.text
    assert error_field(response) == field, response.text
    assert words in error_message(response), response.text


def _no_config(client: TestClient, admin: Headers, name: str) -> None:
    assert client.get(f"{CONFIGS}/{name}", headers=admin).status_code == 404


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"alt_names": ["é.example.com"]}, "alt_names", "xn-- A-labels"),
    ({"uri_sans": "spiffe://é/x"}, "uri_sans", "percent-encode"),
    ({"permitted_dns_domains": ["*.example.com"]}, "permitted_dns_domains", "wildcard"),
    ({"permitted_dns_domains": ["é.com"]}, "permitted_dns_domains", "xn-- A-labels"),
    ({"max_path_length": 10**30}, "max_path_length", "at most 2147483647"),
    ({"serial_number": "%_%"}, "serial_number", "PrintableString"),
    ({"country": ["é1"]}, "country", "PrintableString"),
])
def test_root_ca_fields_x509_cannot_hold(client, admin, fields, field, words) -> None:  # type: ignore[no-untyped-def]
    _refused(client.post(CONFIGS, headers=admin, json=ROOT_BODY | fields), field, words)
    _no_config(client, admin, "odd-root")


def test_a_ca_named_in_any_language_is_made_and_its_name_stays_out_of_the_sans(client, admin) -> None:  # type: ignore[no-untyped-def]
    root = create_root(client, admin, "zr", common_name="Zürich-Root")
    cert = cert_of(root["data"]["certificate"])
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "Zürich-Root"
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    create_intermediate(client, admin, "zi", common_name="Zürich-Issuing", issuer="zr")
    signed = ok(action(client, admin, "zr", SIGN_INTERMEDIATE, intermediate_certificate_authority="zi"))
    assert cert_of(signed["certificate"]).subject.rfc4514_string() == "CN=Zürich-Issuing"


def test_an_intermediate_that_could_never_be_signed_is_refused_when_configured(client, admin) -> None:  # type: ignore[no-untyped-def]
    create_root(client, admin, "r1")
    body = {"config_type": "private_cert_configuration_intermediate_ca", "name": "i1", "common_name": "Issuing",
            "max_ttl": "4000h", "signing_method": "internal", "issuer": "r1", "key_type": "ec",
            "alt_names": ["é.example"]}
    _refused(client.post(CONFIGS, headers=admin, json=body), "alt_names", "xn-- A-labels")
    _no_config(client, admin, "i1")


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"other_sans": ["*"]}, "other_sans", "other_sans"),
    ({"permitted_dns_domains": ["*"]}, "permitted_dns_domains", "wildcard"),
    ({"alt_names": ["é.example"]}, "alt_names", "xn-- A-labels"),
    ({"max_path_length": 10**30}, "max_path_length", "at most"),
])
def test_sign_csr_with_fields_x509_cannot_hold(client, admin, fields, field, words) -> None:  # type: ignore[no-untyped-def]
    create_root(client, admin, "signer")
    _, csr = new_csr("sub.example.com")
    _refused(action(client, admin, "signer", SIGN_CSR, csr=csr, common_name="Sub CA", **fields), field, words)


def test_sign_intermediate_with_a_path_length_past_its_range(client, admin) -> None:  # type: ignore[no-untyped-def]
    create_root(client, admin, "r2")
    create_intermediate(client, admin, "i2", issuer="r2")
    response = action(client, admin, "r2", SIGN_INTERMEDIATE, intermediate_certificate_authority="i2",
                      max_path_length=10**30)
    _refused(response, "max_path_length", "at most")
    assert client.get(f"{CONFIGS}/i2", headers=admin).json()["status"] == "signing_required"


@pytest.mark.parametrize(("fields", "field"), [
    ({"common_name": "é-host"}, "common_name"),
    ({"common_name": "host", "alt_names": ["é.example"]}, "alt_names"),
    ({"common_name": "host", "alt_names": ["a@é.com"]}, "alt_names"),
])
def test_private_certificate_names_not_in_a_label_form(client, admin, fields, field) -> None:  # type: ignore[no-untyped-def]
    pki = build_pki(client, admin, allow_any_name=True, enforce_hostnames=False)
    response = issue(client, admin, pki.template, name="idn", **fields)
    _refused(response, field, "not ASCII")
    assert client.get(f"{V2}/secrets", headers=admin, params={"search": "idn"}).json()["total_count"] == 0


@pytest.mark.parametrize(("options", "field"), [
    ({"common_name": "é.example.com"}, "managed_csr.common_name"),
    ({"common_name": "app.example.com", "alt_names": "é.example.com"}, "managed_csr.alt_names"),
    ({"common_name": "app.example.com", "alt_names": "a@é.com"}, "managed_csr.alt_names"),
    ({"common_name": "app.example.com", "uri_sans": "spiffe://é"}, "managed_csr.uri_sans"),
])
def test_managed_csr_names_not_in_a_label_form(client, admin, options, field) -> None:  # type: ignore[no-untyped-def]
    body = {"secret_type": "imported_cert", "name": "m1", "managed_csr": options}
    response = client.post(f"{V2}/secrets", headers=admin, json=body)
    _refused(response, field, "not ASCII")
    assert client.get(f"{V2}/secrets", headers=admin).json()["total_count"] == 0
    made = client.post(f"{V2}/secrets", headers=admin, json={**body, "managed_csr": {"common_name": "app.example.com"}})
    assert made.status_code == 201, made.text
    patched = client.patch(f"{V2}/secrets/{made.json()['id']}/metadata", headers=admin, json={"managed_csr": options})
    _refused(patched, field, "not ASCII")


@pytest.mark.parametrize("schedule", ["rate(99999999999 days)", "rate(3000000 days)", "rate(1001 days)",
                                      "rate(" + "9" * 5000 + " hours)"])
def test_rotation_schedules_past_the_maximum_interval(client, admin, schedule) -> None:  # type: ignore[no-untyped-def]
    body = {"secret_type": "username_password", "name": "rs1", "username": "app",
            "rotation": {"auto_rotate": True, "schedule": schedule}}
    _refused(client.post(f"{V2}/secrets", headers=admin, json=body), "rotation.schedule", "maximum interval of 1000 days")
    made = ok(client.post(f"{V2}/secrets", headers=admin, json=body | {"rotation": {"auto_rotate": False}}))
    patched = client.patch(f"{V2}/secrets/{made['id']}/metadata", headers=admin,
                           json={"rotation": {"auto_rotate": True, "schedule": schedule}})
    _refused(patched, "rotation.schedule", "maximum interval")


@pytest.mark.parametrize(("url", "words"), [
    ("http://[zz]/hook", "cannot be parsed"),
    ("http://example.com:99999/hook", "cannot be parsed"),
    ("http://" + "a" * 64 + ".com/hook", "is not a valid host name"),
])
def test_webhook_urls_that_cannot_be_parsed(client, admin, url, words) -> None:  # type: ignore[no-untyped-def]
    _refused(client.post(f"{V2}/webhooks", headers=admin, json={"url": url}), "url", words)
    assert client.get(f"{V2}/webhooks", headers=admin).json()["webhooks"] == []


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"])
def test_event_times_past_the_calendar_in_utc(client, admin, since) -> None:  # type: ignore[no-untyped-def]
    _refused(client.get(f"{V2}/events", headers=admin, params={"since": since}), "since", "out of range")


def test_more_labels_to_match_than_a_secret_can_hold(client, admin) -> None:  # type: ignore[no-untyped-def]
    labels = ",".join(f"l{i}" for i in range(999))
    _refused(client.get(f"{V2}/secrets", headers=admin, params={"match_all_labels": labels}),
             "match_all_labels", "at most 30 labels")
    thirty = ",".join(f"l{i}" for i in range(30))
    assert client.get(f"{V2}/secrets", headers=admin, params={"match_all_labels": thirty}).status_code == 200


def test_a_template_allowing_any_name_still_issues_ascii_names(client, admin) -> None:  # type: ignore[no-untyped-def]
    pki = build_pki(client, admin, allow_any_name=True, enforce_hostnames=False)
    cert = cert_of(ok(issue(client, admin, pki.template, name="plain", common_name="xn--zrich-kva.example"))
                   ["certificate"])
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["xn--zrich-kva.example"]
