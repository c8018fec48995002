from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509

from pki.ca import CASpec, create_root
from pki.crl import build_crl
from pki.keys import generate_key
from pki.names import Subject

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_crl_is_signed_by_the_ca_lists_serials_and_expires_after_crl_expiry() -> None:
    key = generate_key("rsa", 2048)
    ca = create_root(CASpec(Subject("CRL Root"), timedelta(days=30)), key, NOW)
    crl = build_crl(ca, key, [(1234, NOW), (99, NOW - timedelta(hours=1))], now=NOW, expiry=timedelta(hours=72), number=7)
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc == NOW + timedelta(hours=72)
    assert crl.get_revoked_certificate_by_serial_number(1234) is not None
    assert crl.get_revoked_certificate_by_serial_number(5) is None
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7


def test_empty_crl_is_still_signed() -> None:
    key = generate_key("ec", 384)
    ca = create_root(CASpec(Subject("Empty"), timedelta(days=30)), key, NOW)
    crl = build_crl(ca, key, [], now=NOW, expiry=timedelta(hours=1), number=1)
    assert len(crl) == 0 and crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
