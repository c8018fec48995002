"""CSR options of a managed CSR: defaults, validation, and the CSR they build."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pki.csr_builder import CsrOptions, build_csr, key_params_of
from pki.errors import InvalidCsrOptions, InvalidRequest
from pki.keys import generate_key


def san(csr: x509.CertificateSigningRequest) -> x509.SubjectAlternativeName:
    return csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_defaults_fill_every_option() -> None:
    options = CsrOptions.from_fields({"common_name": "www.example.com"})
    shown = options.to_dict()
    assert shown["key_type"] == "rsa" and shown["key_bits"] == 2048
    assert shown["server_flag"] and shown["client_flag"] and not shown["rotate_keys"]
    assert shown["organization"] == [] and shown["require_cn"] is True


def test_ec_key_type_defaults_to_256_bits() -> None:
    assert CsrOptions.from_fields({"common_name": "a.example.com", "key_type": "ec"}).key_bits == 256


def test_csr_carries_subject_sans_and_usages() -> None:
    options = CsrOptions.from_fields({
        "common_name": "www.example.com", "organization": ["Example"], "country": ["DE"],
        "alt_names": "api.example.com, ops@example.com", "ip_sans": "10.0.0.1", "uri_sans": "spiffe://example/web",
        "other_sans": "1.3.6.1.4.1.311.20.2.3;UTF8:web@example", "ext_key_usage": "CodeSigning",
        "policy_identifiers": "1.2.3.4", "user_ids": "web", "key_type": "ec",
    })
    key = generate_key("ec")
    csr = build_csr(key, options)
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "www.example.com"
    assert csr.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "web"
    names = san(csr)
    assert names.get_values_for_type(x509.DNSName) == ["www.example.com", "api.example.com"]
    assert names.get_values_for_type(x509.RFC822Name) == ["ops@example.com"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.1")]
    assert names.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://example/web"]
    ekus = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(ekus) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.CODE_SIGNING]


def test_exclude_cn_from_sans() -> None:
    options = CsrOptions.from_fields({"common_name": "Web server", "exclude_cn_from_sans": True, "alt_names": "a.example.com"})
    assert san(build_csr(generate_key("ec"), options)).get_values_for_type(x509.DNSName) == ["a.example.com"]


def test_common_name_required_unless_require_cn_false() -> None:
    with pytest.raises(InvalidCsrOptions) as info:
        CsrOptions.from_fields({})
    assert info.value.field == "common_name"
    assert CsrOptions.from_fields({"require_cn": False, "alt_names": "a.example.com"}).common_name == ""


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"key_type": "dsa"}, InvalidRequest, "key_type"),
        ({"key_type": "rsa", "key_bits": 1024}, InvalidRequest, "key_bits"),
        ({"organization": "Example"}, InvalidCsrOptions, "organization"),
        ({"server_flag": "yes"}, InvalidCsrOptions, "server_flag"),
        ({"key_bits": True}, InvalidCsrOptions, "key_bits"),
        ({"colour": "red"}, InvalidCsrOptions, "colour"),
        ({"country": ["Germany"]}, InvalidCsrOptions, "country"),
        ({"common_name": "a" * 65}, InvalidCsrOptions, "common_name"),
    ],
)
def test_bad_options_name_the_option(fields: dict, error: type, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(error) as info:
        CsrOptions.from_fields({"common_name": "a.example.com", **fields})
    assert info.value.field == field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ip_sans": "not-an-ip"}, "ip_sans"),
        ({"other_sans": "1.2.3=x"}, "other_sans"),
        ({"key_usage": "Teleport"}, "key_usage"),
        ({"ext_key_usage": "Teleport"}, "ext_key_usage"),
        ({"policy_identifiers": "not.an.oid"}, "policy_identifiers"),
    ],
)
def test_options_that_cannot_be_encoded_are_refused(fields: dict, field: str) -> None:  # type: ignore[type-arg]
    options = CsrOptions.from_fields({"common_name": "a.example.com", "key_type": "ec", **fields})
    with pytest.raises((InvalidCsrOptions, InvalidRequest)) as info:
        build_csr(generate_key("ec"), options)
    assert info.value.field == field


def test_key_params_of() -> None:
    assert key_params_of(generate_key("ec", 384)) == ("ec", 384)
    assert key_params_of(object()) is None
