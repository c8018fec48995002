"""Subjects built from the contract's fields, and read back from the names they made."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from pki.errors import InvalidRequest
from pki.names import Subject


def test_a_subject_read_back_from_its_name_builds_the_same_name() -> None:
    subject = Subject.from_fields("Example CA", {"organization": ["Example", "Example Labs"], "ou": ["PKI"],
                                                 "country": ["DE"], "serial_number": "42"})
    again = Subject.from_name(subject.to_name())
    assert again == subject
    assert again.to_name() == subject.to_name()


def test_a_name_with_an_attribute_certkeeper_never_sets_is_refused_naming_it() -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x"), x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@b")])
    with pytest.raises(InvalidRequest, match="1.2.840.113549.1.9.1"):
        Subject.from_name(name)


def _ca_with(permitted: list[str] | None, excluded: list[str] | None = None) -> x509.Certificate:
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")])
    now = datetime.now(UTC)
    constraints = x509.NameConstraints([x509.DNSName(d) for d in permitted] if permitted else None,
                                       [x509.DNSName(d) for d in excluded] if excluded else None)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .add_extension(constraints, critical=True).sign(key, hashes.SHA256()))


@pytest.mark.parametrize(("permitted", "excluded", "names", "outside"), [
    (["example.com"], None, ["example.com", "a.example.com", "*.b.example.com", "A.EXAMPLE.COM."], None),
    (["example.com"], None, ["badexample.com"], "badexample.com"),  # a label boundary, not a suffix
    ([".example.com"], None, ["example.com"], "example.com"),  # a leading dot: subdomains only
    ([".example.com"], None, ["a.example.com"], None),
    (["example.com"], ["secret.example.com"], ["x.secret.example.com"], "x.secret.example.com"),
])
def test_names_are_checked_against_name_constraints_as_rfc_5280_reads_them(
        permitted: list[str], excluded: list[str] | None, names: list[str], outside: str | None) -> None:
    from pki.names import outside_name_constraints

    found = outside_name_constraints([_ca_with(permitted, excluded)], names)
    assert (found[0] if found else None) == outside
