"""Leaf issuance: serials, extensions from usage rules, and the issuer's lifetime as a cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from pki.ca import CASpec, create_root, intermediate_csr, sign_intermediate
from pki.errors import InvalidRequest
from pki.issuance import LeafSpec, Usage, issue_leaf
from pki.keys import generate_key
from pki.names import Subject
from pki.serials import SERIAL_BITS, random_serial

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def root() -> tuple[x509.Certificate, object]:
    key = generate_key("ec", 256)
    return create_root(CASpec(Subject("Test Root"), timedelta(days=365)), key, NOW), key


def _spec(**over: object) -> LeafSpec:
    values: dict[str, object] = dict(subject=Subject("leaf.example.test"), dns_names=("leaf.example.test",), ip_sans=(),
                                     uri_sans=(), other_sans=(), ttl=timedelta(days=30), usage=Usage())
    values.update(over)
    return LeafSpec(**values)  # type: ignore[arg-type]


def test_ten_thousand_serials_are_unique_positive_and_carry_at_least_64_random_bits(root) -> None:  # type: ignore[no-untyped-def]
    cert, key = root
    leaf_key = generate_key("ec", 256)
    serials = [issue_leaf(cert, key, leaf_key.public_key(), _spec(), NOW).serial_number for _ in range(10_000)]
    assert len(set(serials)) == 10_000
    assert all(0 < s < 2**159 for s in serials)  # RFC 5280: positive, at most 20 octets
    # 10,000 draws of a 159-bit value: the top bits vary, so they are not a counter
    assert max(serials).bit_length() >= 150 and min(s.bit_length() for s in serials) >= 64
    assert SERIAL_BITS >= 64 and random_serial() != random_serial()


def test_leaf_never_outlives_its_issuer(root) -> None:  # type: ignore[no-untyped-def]
    cert, key = root
    with pytest.raises(InvalidRequest, match="outlive its issuing CA"):
        issue_leaf(cert, key, generate_key("ec").public_key(), _spec(ttl=timedelta(days=400)), NOW)


def test_usage_flags_become_key_usage_and_eku(root) -> None:  # type: ignore[no-untyped-def]
    cert, key = root
    usage = Usage(key_usage=("DigitalSignature",), server_flag=True, client_flag=False, code_signing_flag=True,
                  ext_key_usage_oids=("1.3.6.1.5.5.7.3.9",), policy_identifiers=("1.2.3.4",),
                  basic_constraints_valid_for_non_ca=True)
    leaf = issue_leaf(cert, key, generate_key("ec").public_key(), _spec(usage=usage), NOW)
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_encipherment
    ekus = list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert ekus == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CODE_SIGNING, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.9")]
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_unknown_key_usage_is_named(root) -> None:  # type: ignore[no-untyped-def]
    cert, key = root
    with pytest.raises(InvalidRequest, match="key_usage: 'Teleport'"):
        issue_leaf(cert, key, generate_key("ec").public_key(), _spec(usage=Usage(key_usage=("Teleport",))), NOW)


def test_other_sans_and_ips_are_encoded(root) -> None:  # type: ignore[no-untyped-def]
    cert, key = root
    leaf = issue_leaf(cert, key, generate_key("ec").public_key(),
                      _spec(ip_sans=("10.0.0.1", "::1"), uri_sans=("spiffe://test/x",),
                            other_sans=(("1.3.6.1.4.1.311.20.2.3", "user@example.test"),)), NOW)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.1", "::1"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://test/x"]
    other = san.get_values_for_type(x509.OtherName)[0]
    assert other.value == b"\x0c\x11user@example.test"


def test_path_length_zero_issuer_cannot_sign_another_ca() -> None:
    key = generate_key("ec")
    root = create_root(CASpec(Subject("Root"), timedelta(days=365), max_path_length=0), key, NOW)
    child_key = generate_key("ec")
    csr = intermediate_csr(CASpec(Subject("Child"), timedelta(days=30)), child_key)
    with pytest.raises(InvalidRequest, match="max_path_length is 0"):
        sign_intermediate(root, key, csr, CASpec(Subject("Child"), timedelta(days=30)), NOW)


def test_intermediate_path_length_is_capped_below_its_issuer() -> None:
    key = generate_key("ec")
    root = create_root(CASpec(Subject("Root"), timedelta(days=365), max_path_length=2), key, NOW)
    child_key = generate_key("ec")
    child = sign_intermediate(root, key, intermediate_csr(CASpec(Subject("Child"), timedelta(days=30)), child_key),
                              CASpec(Subject("Child"), timedelta(days=30), max_path_length=5), NOW)
    assert child.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1
    child.verify_directly_issued_by(root)
