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
