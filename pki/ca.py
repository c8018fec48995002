"""Certificate authorities: self-signed roots, intermediate CSRs, and signing intermediates.

Pure functions on `cryptography`; the caller stores keys (sealed) and certificates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from pki.errors import InvalidRequest
from pki.extensions import add_distribution, add_key_ids
from pki.keys import PrivateKey, public_keys_equal, signature_hash
from pki.names import Subject, san_extension
from pki.serials import random_serial

# Backdate CA certificates a little so clocks that run slow still accept them.
CA_BACKDATE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class CASpec:
    subject: Subject
    ttl: timedelta
    alt_names: tuple[str, ...] = ()
    ip_sans: tuple[str, ...] = ()
    uri_sans: tuple[str, ...] = ()
    other_sans: tuple[tuple[str, str], ...] = ()
    exclude_cn_from_sans: bool = False
    max_path_length: int | None = None  # None or negative: no limit
    permitted_dns_domains: tuple[str, ...] = ()
    crl_urls: tuple[str, ...] = ()
    issuer_urls: tuple[str, ...] = field(default=())


def _ca_extensions(builder: x509.CertificateBuilder, spec: CASpec) -> x509.CertificateBuilder:
    path_len = spec.max_path_length if spec.max_path_length is not None and spec.max_path_length >= 0 else None
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
        ),
        critical=True,
    )
    if spec.permitted_dns_domains:
        builder = builder.add_extension(
            x509.NameConstraints([x509.DNSName(d) for d in spec.permitted_dns_domains], None), critical=True
        )
    dns = list(spec.alt_names)
    if spec.subject.common_name and not spec.exclude_cn_from_sans and "@" not in spec.subject.common_name and " " not in spec.subject.common_name:
        dns = [spec.subject.common_name, *dns]
    san = san_extension(dns, spec.ip_sans, spec.uri_sans, spec.other_sans)
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return add_distribution(builder, spec.crl_urls, spec.issuer_urls)


def create_root(spec: CASpec, key: PrivateKey, now: datetime) -> x509.Certificate:
    name = spec.subject.to_name()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(now - CA_BACKDATE)
        .not_valid_after(now + spec.ttl)
    )
    builder = add_key_ids(_ca_extensions(builder, spec), key.public_key(), None)
    return builder.sign(key, signature_hash(key))


def intermediate_csr(subject: Subject, key: PrivateKey) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject.to_name())
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, signature_hash(key))


def sign_intermediate(
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKey,
    csr: x509.CertificateSigningRequest,
    spec: CASpec,
    now: datetime,
) -> x509.Certificate:
    """Sign a CA certificate for ``csr``. Raises InvalidRequest for a bad CSR or a TTL
    that would outlive the issuer, or when the issuer's path length forbids another CA."""
    if not csr.is_signature_valid:
        raise InvalidRequest("csr: signature does not verify", field="csr")
    not_after = now + spec.ttl
    if not_after > issuer_cert.not_valid_after_utc:
        raise InvalidRequest(
            f"ttl: the certificate would expire after its issuer ({issuer_cert.not_valid_after_utc.isoformat()})",
            field="ttl",
        )
    issuer_bc = issuer_cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    if issuer_bc.path_length == 0:
        raise InvalidRequest("issuer: its max_path_length is 0, so it cannot sign another CA", field="issuer")
    max_path = spec.max_path_length
    if issuer_bc.path_length is not None:
        limit = issuer_bc.path_length - 1
        max_path = limit if max_path is None or max_path < 0 or max_path > limit else max_path
    builder = (
        x509.CertificateBuilder()
        .subject_name(spec.subject.to_name())
        .issuer_name(issuer_cert.subject)
        .public_key(csr.public_key())  # type: ignore[arg-type]
        .serial_number(random_serial())
        .not_valid_before(now - CA_BACKDATE)
        .not_valid_after(not_after)
    )
    builder = _ca_extensions(builder, replace(spec, max_path_length=max_path))
    builder = add_key_ids(builder, csr.public_key(), issuer_cert)
    return builder.sign(issuer_key, signature_hash(issuer_key))


def check_signed_certificate(cert: x509.Certificate, key: PrivateKey, chain: Sequence[x509.Certificate]) -> None:
    """For `set_signed`: the certificate must carry our key, be a CA, and chain to what came with it."""
    if not public_keys_equal(cert.public_key(), key.public_key()):
        raise InvalidRequest("certificate: does not match this intermediate's private key (was another CSR signed?)", field="certificate")
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None or not bc.ca:
        raise InvalidRequest("certificate: is not a CA certificate (basicConstraints CA:TRUE is missing)", field="certificate")
    child = cert
    for parent in chain:
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            raise InvalidRequest("certificate: the chain sent with it does not link (each certificate must be signed by the next)", field="certificate") from None
        child = parent
