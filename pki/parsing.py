"""Parsing and checking what users import: one certificate, an optional intermediate
bundle (put in chain order when it is only out of order), an optional private key,
and the facts the v2 contract shows about a certificate.

Sizes are capped before anything is parsed; each way an input can be wrong raises
its own `pki.errors` leaf with a stable code and a message naming the field.
Expired and not-yet-valid certificates are accepted: users import them to track them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import SignatureAlgorithmOID as Sig

from pki.errors import (
    CertificateIsCA,
    ChainBroken,
    EmptyInput,
    InputTooLarge,
    IntermediateNotIssuer,
    InvalidCertificate,
    InvalidPrivateKey,
    MultipleCertificates,
    MultiplePrivateKeys,
    NotACertificate,
    NotAPrivateKey,
    PrivateKeyEncrypted,
    PrivateKeyMismatch,
    UnsupportedKey,
)
from pki.keys import key_algorithm, public_keys_equal
from pki.names import common_name_of
from pki.pem import PemBlock, armor, read_blocks
from pki.serials import colon_hex

MAX_PEM_BYTES = 100 * 1024  # the v2 contract's limit for a certificate, an intermediate and a private key

ImportedKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
_KEY_LABELS = {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"}
_TRADITIONAL = {"RSA PRIVATE KEY", "EC PRIVATE KEY"}  # PKCS#1 / SEC1, kept in the form the user sent


@dataclass(frozen=True, slots=True)
class Imported:
    """A checked import: the certificate, its chain in order, and its key in PEM."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    key: ImportedKey | None = None
    key_pem: str | None = None

    @property
    def certificate_pem(self) -> str:
        return certificate_pem(self.certificate)

    @property
    def chain_pem(self) -> str | None:
        return "".join(certificate_pem(c) for c in self.chain) if self.chain else None


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    common_name: str | None
    alt_names: tuple[str, ...]
    issuer: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    key_algorithm: str
    signing_algorithm: str


def check_import(certificate: str | bytes, intermediate: str | bytes | None = None,
                 private_key: str | bytes | None = None) -> Imported:
    """Check all three inputs: sizes first, then each one, then that they belong together.

    Raises InputTooLarge, EmptyInput, the NotPem / MalformedPem families, NotACertificate,
    InvalidCertificate, MultipleCertificates, CertificateIsCA, the private key errors,
    PrivateKeyMismatch, IntermediateNotIssuer and ChainBroken.
    """
    for field, value in (("certificate", certificate), ("intermediate", intermediate), ("private_key", private_key)):
        if value is not None:
            check_size(value, field)
    cert = parse_certificate(certificate)
    chain = order_chain(cert, parse_bundle(intermediate)) if intermediate is not None else []
    if private_key is None:
        return Imported(cert, tuple(chain))
    key, key_pem = parse_private_key(private_key)
    check_key_matches(cert, key)
    return Imported(cert, tuple(chain), key, key_pem)


def check_size(value: str | bytes, field: str, limit: int = MAX_PEM_BYTES) -> None:
    size = len(value.encode()) if isinstance(value, str) else len(value)
    if size > limit:
        raise InputTooLarge(f"{field}: {size} bytes is over the limit of {limit} bytes", field=field)
    if not value.strip():
        raise EmptyInput(f"{field}: must not be empty", field=field)


def parse_certificate(value: str | bytes, field: str = "certificate") -> x509.Certificate:
    """Exactly one end-entity certificate."""
    check_size(value, field)
    certs = _certificates(read_blocks(value, field), field)
    if len(certs) > 1:
        raise MultipleCertificates(
            f"{field}: holds {len(certs)} certificates where one is expected; "
            "send the other certificates of the chain in 'intermediate'",
            field=field,
        )
    cert = certs[0]
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        raise CertificateIsCA(
            f"{field}: '{cert.subject.rfc4514_string()}' is a CA certificate (basicConstraints CA:TRUE); "
            "import the end-entity certificate and send CA certificates in 'intermediate'",
            field=field,
        )
    return cert


def parse_bundle(value: str | bytes, field: str = "intermediate") -> list[x509.Certificate]:
    """One or more certificates, in the order sent."""
    check_size(value, field)
    return _certificates(read_blocks(value, field), field)


def _certificates(blocks: Sequence[PemBlock], field: str) -> list[x509.Certificate]:
    certs = []
    for number, block in enumerate(blocks, 1):
        if block.label != "CERTIFICATE":
            hint = "; send keys in 'private_key'" if "PRIVATE KEY" in block.label else ""
            raise NotACertificate(f"{field}: block {number} is a PEM '{block.label}', not a CERTIFICATE{hint}", field=field)
        try:
            cert = x509.load_der_x509_certificate(block.der)
            describe(cert)  # reads every field we show; a malformed one fails here, not later
            cert.extensions  # noqa: B018 - parsing the extensions is the check
        except (ValueError, UnsupportedAlgorithm):
            raise InvalidCertificate(f"{field}: block {number} is not a valid X.509 certificate", field=field) from None
        certs.append(cert)
    return certs


def order_chain(leaf: x509.Certificate, bundle: Sequence[x509.Certificate], field: str = "intermediate") -> list[x509.Certificate]:
    """The bundle in chain order: the leaf's issuer first, then its issuer, and so on.

    Every certificate of the bundle must be used: one that is not part of the chain
    raises ChainBroken; a bundle in which no certificate signed the leaf raises
    IntermediateNotIssuer.
    """
    remaining = list(bundle)
    chain: list[x509.Certificate] = []
    current = leaf
    while remaining:
        issuer = next((c for c in remaining if _issued_by(current, c)), None)
        if issuer is None:
            break
        chain.append(issuer)
        remaining.remove(issuer)
        current = issuer
    if not chain:
        raise IntermediateNotIssuer(
            f"{field}: no certificate in it signed the certificate (issuer '{leaf.issuer.rfc4514_string()}')",
            field=field,
        )
    if remaining:
        raise ChainBroken(
            f"{field}: '{remaining[0].subject.rfc4514_string()}' is not part of the certificate's chain "
            f"(the chain ends at '{current.subject.rfc4514_string()}')",
            field=field,
        )
    return chain


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert == issuer:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def parse_private_key(value: str | bytes, field: str = "private_key") -> tuple[ImportedKey, str]:
    """One unencrypted RSA, EC or EdDSA key, and its PEM (PKCS#1 / SEC1 kept as sent, else PKCS#8)."""
    check_size(value, field)
    blocks = [b for b in read_blocks(value, field) if b.label != "EC PARAMETERS"]  # `openssl ecparam -genkey` adds one
    for block in blocks:
        if block.label == "ENCRYPTED PRIVATE KEY" or any("ENCRYPTED" in h for h in block.headers):
            raise PrivateKeyEncrypted(
                f"{field}: is encrypted; only unencrypted keys can be imported "
                "(decrypt it with 'openssl pkey -in key.pem -out plain.pem')",
                field=field,
            )
        if block.label not in _KEY_LABELS:
            hint = " (an OpenSSH key; convert it with 'ssh-keygen -p -m PKCS8')" if "OPENSSH" in block.label else ""
            raise NotAPrivateKey(f"{field}: holds a PEM '{block.label}', not a private key{hint}", field=field)
    if not blocks:
        raise NotAPrivateKey(f"{field}: holds no private key", field=field)
    if len(blocks) > 1:
        raise MultiplePrivateKeys(f"{field}: holds {len(blocks)} private keys where one is expected", field=field)
    block = blocks[0]
    try:
        key = serialization.load_der_private_key(block.der, password=None)
    except TypeError:
        raise PrivateKeyEncrypted(f"{field}: is encrypted; only unencrypted keys can be imported", field=field) from None
    except UnsupportedAlgorithm:
        raise UnsupportedKey(f"{field}: its key type is not supported (use RSA, EC or Ed25519)", field=field) from None
    except ValueError:
        raise InvalidPrivateKey(f"{field}: the '{block.label}' block is not a valid private key", field=field) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        raise UnsupportedKey(f"{field}: {type(key).__name__} keys are not supported (use RSA, EC or Ed25519)", field=field)
    return key, armor(block.label, block.der) if block.label in _TRADITIONAL else private_key_pem(key)


def check_key_matches(cert: x509.Certificate, key: ImportedKey, field: str = "private_key",
                      what: str = "the certificate") -> None:
    """Raises PrivateKeyMismatch when ``key`` is not the key of ``cert``."""
    if not public_keys_equal(cert.public_key(), key.public_key()):
        raise PrivateKeyMismatch(f"{field}: does not match {what} (their public keys differ)", field=field)


def describe(cert: x509.Certificate) -> CertificateInfo:
    """The facts the v2 contract shows for a certificate."""
    return CertificateInfo(
        common_name=common_name_of(cert.subject),
        alt_names=tuple(_alt_names(cert)),
        issuer=cert.issuer.rfc4514_string(),
        serial_number=colon_hex(cert.serial_number),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_algorithm=key_algorithm(cert.public_key()),
        signing_algorithm=signing_algorithm(cert),
    )


def _alt_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
        *san.get_values_for_type(x509.RFC822Name),
        *san.get_values_for_type(x509.UniformResourceIdentifier),
    ]


_SIGNING = {
    Sig.RSA_WITH_MD5: "MD5-RSA", Sig.RSA_WITH_SHA1: "SHA1-RSA", Sig.RSA_WITH_SHA224: "SHA224-RSA",
    Sig.RSA_WITH_SHA256: "SHA256-RSA", Sig.RSA_WITH_SHA384: "SHA384-RSA", Sig.RSA_WITH_SHA512: "SHA512-RSA",
    Sig.ECDSA_WITH_SHA1: "SHA1-ECDSA", Sig.ECDSA_WITH_SHA224: "SHA224-ECDSA", Sig.ECDSA_WITH_SHA256: "SHA256-ECDSA",
    Sig.ECDSA_WITH_SHA384: "SHA384-ECDSA", Sig.ECDSA_WITH_SHA512: "SHA512-ECDSA",
    Sig.ED25519: "ED25519", Sig.ED448: "ED448",
}


def signing_algorithm(cert: x509.Certificate) -> str:
    """'SHA256-RSA', 'SHA384-ECDSA', 'SHA256-RSAPSS', 'ED25519'; the dotted OID for anything else."""
    oid = cert.signature_algorithm_oid
    if oid == Sig.RSASSA_PSS and cert.signature_hash_algorithm is not None:
        return f"{cert.signature_hash_algorithm.name.upper().replace('-', '')}-RSAPSS"
    return _SIGNING.get(oid, oid.dotted_string)


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def private_key_pem(key: ImportedKey) -> str:
    """PKCS#8 PEM, unencrypted (the data is sealed at rest by the store)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
