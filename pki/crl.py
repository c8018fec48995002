"""Certificate revocation lists, signed by the CA that issued the revoked certificates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cryptography import x509

from pki.keys import PrivateKey, signature_hash

DEFAULT_CRL_EXPIRY = timedelta(hours=72)  # the contract's default crl_expiry


def build_crl(
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKey,
    revoked: Iterable[tuple[int, datetime]],
    *,
    now: datetime,
    expiry: timedelta,
    number: int,
) -> x509.CertificateRevocationList:
    """A CRL listing ``revoked`` (serial, time) with nextUpdate = now + expiry (RFC 5280 5.1.2.5)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(now)
        .next_update(now + expiry)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    try:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    except x509.ExtensionNotFound:
        pass
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(issuer_key, signature_hash(issuer_key))
