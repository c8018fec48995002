"""Leaf certificates: extensions from a template's usage rules, signed by a CA.

A leaf never outlives its issuer; serials are random (see `pki/serials.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from pki.errors import InvalidRequest
from pki.extensions import add_distribution, add_key_ids
from pki.keys import PrivateKey, signature_hash
from pki.names import Subject, san_extension
from pki.serials import random_serial

KEY_USAGES = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "cert_sign", "crl_sign", "encipher_only", "decipher_only",
)
# The contract (and Vault) spell these as Go names: DigitalSignature, KeyAgreement, ...
_KU_ALIASES = {"".join(p.title() for p in k.split("_")).lower(): k for k in KEY_USAGES} | {
    "nonrepudiation": "content_commitment", "certsign": "cert_sign", "crlsign": "crl_sign",
}
EXT_KEY_USAGES = {
    "serverauth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientauth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "codesigning": ExtendedKeyUsageOID.CODE_SIGNING,
    "emailprotection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocspsigning": ExtendedKeyUsageOID.OCSP_SIGNING,
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}


@dataclass(frozen=True, slots=True)
class Usage:
    key_usage: tuple[str, ...] = ("DigitalSignature", "KeyAgreement", "KeyEncipherment")
    ext_key_usage: tuple[str, ...] = ()
    ext_key_usage_oids: tuple[str, ...] = ()
    server_flag: bool = True
    client_flag: bool = True
    code_signing_flag: bool = False
    email_protection_flag: bool = False
    policy_identifiers: tuple[str, ...] = ()
    basic_constraints_valid_for_non_ca: bool = False


@dataclass(frozen=True, slots=True)
class LeafSpec:
    subject: Subject
    dns_names: tuple[str, ...]
    ip_sans: tuple[str, ...]
    uri_sans: tuple[str, ...]
    other_sans: tuple[tuple[str, str], ...]
    ttl: timedelta
    usage: Usage
    not_before_duration: timedelta = timedelta(seconds=30)
    crl_urls: tuple[str, ...] = ()
    issuer_urls: tuple[str, ...] = ()


def key_usage_extension(names: Sequence[str]) -> x509.KeyUsage:
    """Raises InvalidRequest naming an unknown usage."""
    chosen = set()
    for name in names:
        canonical = _KU_ALIASES.get(name.replace("_", "").lower())
        if canonical is None:
            raise InvalidRequest(f"key_usage: '{name}' is not a key usage", field="key_usage")
        chosen.add(canonical)
    flags = {k: k in chosen for k in KEY_USAGES}
    flags["key_cert_sign"] = flags.pop("cert_sign")
    flags["crl_sign"] = flags.pop("crl_sign")
    if not flags["key_agreement"]:
        flags["encipher_only"] = flags["decipher_only"] = False
    return x509.KeyUsage(**flags)


def extended_key_usages(usage: Usage) -> list[x509.ObjectIdentifier]:
    oids: list[x509.ObjectIdentifier] = []
    for flag, oid in (
        (usage.server_flag, ExtendedKeyUsageOID.SERVER_AUTH),
        (usage.client_flag, ExtendedKeyUsageOID.CLIENT_AUTH),
        (usage.code_signing_flag, ExtendedKeyUsageOID.CODE_SIGNING),
        (usage.email_protection_flag, ExtendedKeyUsageOID.EMAIL_PROTECTION),
    ):
        if flag:
            oids.append(oid)
    for name in usage.ext_key_usage:
        oid = EXT_KEY_USAGES.get(name.replace("_", "").lower())
        if oid is None:
            raise InvalidRequest(f"ext_key_usage: '{name}' is not an extended key usage", field="ext_key_usage")
        oids.append(oid)
    for dotted in usage.ext_key_usage_oids:
        try:
            oids.append(x509.ObjectIdentifier(dotted))
        except ValueError:
            raise InvalidRequest(f"ext_key_usage_oids: '{dotted}' is not an OID", field="ext_key_usage_oids") from None
    return list(dict.fromkeys(oids))


def policies_extension(policy_identifiers: Sequence[str]) -> x509.CertificatePolicies:
    """Raises InvalidRequest naming an identifier that is not a dotted OID."""
    policies = []
    for dotted in policy_identifiers:
        try:
            policies.append(x509.PolicyInformation(x509.ObjectIdentifier(dotted), None))
        except ValueError:
            raise InvalidRequest(f"policy_identifiers: '{dotted}' is not an OID", field="policy_identifiers") from None
    return x509.CertificatePolicies(policies)


def issue_leaf(
    issuer_cert: x509.Certificate, issuer_key: PrivateKey, public_key: object, spec: LeafSpec, now: datetime
) -> x509.Certificate:
    """Sign a leaf for ``public_key``. Raises InvalidRequest when it would outlive its issuer."""
    not_after = now + spec.ttl
    if not_after > issuer_cert.not_valid_after_utc:
        raise InvalidRequest(
            f"ttl: a certificate valid until {not_after.isoformat()} would outlive its issuing CA "
            f"(valid until {issuer_cert.not_valid_after_utc.isoformat()})",
            field="ttl",
        )
    builder = (
        x509.CertificateBuilder()
        .subject_name(spec.subject.to_name())
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(random_serial())
        .not_valid_before(now - spec.not_before_duration)
        .not_valid_after(not_after)
    )
    if spec.usage.basic_constraints_valid_for_non_ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    if spec.usage.key_usage:
        builder = builder.add_extension(key_usage_extension(spec.usage.key_usage), critical=True)
    ekus = extended_key_usages(spec.usage)
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    if spec.usage.policy_identifiers:
        builder = builder.add_extension(policies_extension(spec.usage.policy_identifiers), critical=False)
    san = san_extension(spec.dns_names, spec.ip_sans, spec.uri_sans, spec.other_sans)
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    builder = add_distribution(builder, spec.crl_urls, spec.issuer_urls)
    builder = add_key_ids(builder, public_key, issuer_cert)
    return builder.sign(issuer_key, signature_hash(issuer_key))
