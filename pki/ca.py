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
from pki.names import Subject, dns_name, san_extension
from pki.serials import random_serial

# Backdate CA certificates a little so clocks that run slow still accept them.
CA_BACKDATE = timedelta(seconds=30)
MAX_PATH_LENGTH = 2**31 - 1  # basicConstraints pathLenConstraint as a 32-bit integer; real chains use 0-3


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


def check_spec(spec: CASpec) -> None:
    """Raise InvalidRequest, naming the field, for what `create_root` or `sign_intermediate`
    would fail on: the subject, SANs, name constraints and path length are built, nothing signed
    (run when a CA is configured, so one that could never be signed is refused then)."""
    spec.subject.to_name()
    _ca_extension_values(spec)


def _ca_extension_values(spec: CASpec) -> list[tuple[x509.ExtensionType, bool]]:
    """A CA certificate's extensions, each with whether it is critical (distribution points
    and key ids are added by the builder)."""
    if spec.max_path_length is not None and spec.max_path_length > MAX_PATH_LENGTH:
        raise InvalidRequest(f"max_path_length: at most {MAX_PATH_LENGTH} (negative: no limit)", field="max_path_length")
    path_len = spec.max_path_length if spec.max_path_length is not None and spec.max_path_length >= 0 else None
    out: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=True, path_length=path_len), True),
        (x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
        ), True),
    ]
    if spec.permitted_dns_domains:
        out.append((_name_constraints(spec.permitted_dns_domains), True))
    dns = list(spec.alt_names)
    cn = spec.subject.common_name
    # A CA's common name is a name, not always a host: it joins the SANs only when it can be a DNS name.
    if cn and not spec.exclude_cn_from_sans and cn.isascii() and "@" not in cn and " " not in cn:
        dns = [cn, *dns]
    san = san_extension(dns, spec.ip_sans, spec.uri_sans, spec.other_sans)
    if san is not None:
        out.append((san, False))
    return out


def _name_constraints(domains: Sequence[str]) -> x509.NameConstraints:
    subtrees = [dns_name(d, "permitted_dns_domains") for d in domains]
    try:
        return x509.NameConstraints(subtrees, None)
    except ValueError as exc:  # a wildcard: constraints name domains (".example.com"), not patterns
        raise InvalidRequest(f"permitted_dns_domains: {exc}", field="permitted_dns_domains") from None


def _ca_extensions(builder: x509.CertificateBuilder, spec: CASpec) -> x509.CertificateBuilder:
    for extension, critical in _ca_extension_values(spec):
        builder = builder.add_extension(extension, critical=critical)
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


def intermediate_csr(spec: CASpec, key: PrivateKey) -> x509.CertificateSigningRequest:
    """The CSR of an intermediate: its subject, CA:TRUE and its SANs, so that a signer
    outside (which builds the certificate from the CSR) can give it the names it was
    configured with."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(spec.subject.to_name())
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    for extension, critical in _ca_extension_values(spec):
        if isinstance(extension, x509.SubjectAlternativeName):
            builder = builder.add_extension(extension, critical=critical)
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
