"""Extensions shared by CA and leaf certificates: key identifiers, CRL distribution
points and the AIA issuing-certificate URL."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID


def add_key_ids(builder: x509.CertificateBuilder, public_key: object, issuer: x509.Certificate | None) -> x509.CertificateBuilder:
    """SKI from the subject's key; AKI from the issuer's SKI (or the key itself when self-signed)."""
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
    if issuer is None:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key)  # type: ignore[arg-type]
    else:
        try:
            ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        except x509.ExtensionNotFound:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())  # type: ignore[arg-type]
    return builder.add_extension(aki, critical=False)


def add_distribution(
    builder: x509.CertificateBuilder, crl_urls: Sequence[str], issuer_urls: Sequence[str]
) -> x509.CertificateBuilder:
    if crl_urls:
        points = [x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None) for u in crl_urls]
        builder = builder.add_extension(x509.CRLDistributionPoints(points), critical=False)
    if issuer_urls:
        access = [
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u))
            for u in issuer_urls
        ]
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    return builder
