"""Certificate signing requests built for a key from the contract's CSR options (the
`managed_csr` of an imported certificate): subject, SANs, key usages, policies.

`CsrOptions` is the validated, defaulted form of those options and the shape in which
they are stored and shown; `build_csr` signs a request with a key the caller holds.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from pki.errors import InvalidCsrOptions, InvalidRequest, PkiError
from pki.issuance import Usage, extended_key_usages, key_usage_extension
from pki.keys import PrivateKey, check_key_params, signature_hash
from pki.names import SUBJECT_FIELDS, Subject, dns_name, email_name, other_name, uri_name
from pki.templates import parse_other_san

_LISTS = tuple(SUBJECT_FIELDS)  # ou, organization, country, ... as lists of strings
_TEXTS = ("common_name", "alt_names", "ip_sans", "uri_sans", "other_sans", "user_ids", "key_usage",
          "ext_key_usage", "policy_identifiers", "ext_key_usage_oids")
_FLAGS = ("require_cn", "exclude_cn_from_sans", "server_flag", "client_flag", "code_signing_flag",
          "email_protection_flag", "rotate_keys")


@dataclass(frozen=True, slots=True)
class CsrOptions:
    """Defaults follow the contract's (and Vault's role) defaults."""

    ou: tuple[str, ...] = ()
    organization: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    locality: tuple[str, ...] = ()
    province: tuple[str, ...] = ()
    street_address: tuple[str, ...] = ()
    postal_code: tuple[str, ...] = ()
    require_cn: bool = True
    common_name: str = ""
    alt_names: str = ""  # the contract's comma-separated lists
    ip_sans: str = ""
    uri_sans: str = ""
    other_sans: str = ""
    exclude_cn_from_sans: bool = False
    user_ids: str = ""
    server_flag: bool = True
    client_flag: bool = True
    code_signing_flag: bool = False
    email_protection_flag: bool = False
    key_type: str = "rsa"
    key_bits: int = 2048
    key_usage: str = "DigitalSignature,KeyAgreement,KeyEncipherment"
    ext_key_usage: str = ""
    policy_identifiers: str = ""
    ext_key_usage_oids: str = ""
    rotate_keys: bool = False

    @classmethod
    def from_fields(cls, values: Mapping[str, Any]) -> CsrOptions:
        """Validate types and key parameters; raises InvalidCsrOptions / InvalidRequest naming the option."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidCsrOptions(f"{unknown[0]}: is not a CSR option", field=unknown[0])
        out: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                continue
            if name in _LISTS:
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise InvalidCsrOptions(f"{name}: must be a list of strings", field=name)
                out[name] = tuple(value)
            elif name in _TEXTS or name == "key_type":
                if not isinstance(value, str):
                    raise InvalidCsrOptions(f"{name}: must be a string", field=name)
                out[name] = value.strip()
            elif name in _FLAGS:
                if not isinstance(value, bool):
                    raise InvalidCsrOptions(f"{name}: must be true or false", field=name)
                out[name] = value
            elif name == "key_bits":
                if not isinstance(value, int) or isinstance(value, bool):
                    raise InvalidCsrOptions("key_bits: must be an integer", field="key_bits")
                out[name] = value
        out["key_type"], out["key_bits"] = check_key_params(out.get("key_type", "rsa"), out.get("key_bits"))
        if len(out.get("common_name", "")) > 64:  # RFC 5280: ub-common-name is 64
            raise InvalidCsrOptions("common_name: must be at most 64 characters", field="common_name")
        bad_country = next((c for c in out.get("country", ()) if len(c) != 2), None)
        if bad_country is not None:
            raise InvalidCsrOptions(f"country: '{bad_country[:40]}' is not a two-letter country code", field="country")
        if out.get("require_cn", True) and not out.get("common_name"):
            raise InvalidCsrOptions("common_name: is required (or set require_cn to false)", field="common_name")
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        """The stored and shown form: lists as lists, every option present."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_csr(key: PrivateKey, options: CsrOptions) -> x509.CertificateSigningRequest:
    """A CSR for ``key`` with the options' subject, SANs and usages.

    Raises InvalidCsrOptions / InvalidRequest naming the option that cannot be encoded.
    """
    subject = Subject.from_fields(options.common_name or None, {k: list(getattr(options, k)) for k in _LISTS})
    try:  # attributes check their lengths on construction (RFC 5280: CN up to 64, country 2)
        name = subject.to_name()
        name = x509.Name([*name, *(x509.NameAttribute(NameOID.USER_ID, uid) for uid in _split(options.user_ids))])
    except ValueError as exc:
        raise InvalidCsrOptions(f"subject: {exc}", field="subject") from None
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    names = _general_names(options)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    usage = Usage(
        key_usage=tuple(_split(options.key_usage)), ext_key_usage=tuple(_split(options.ext_key_usage)),
        ext_key_usage_oids=tuple(_split(options.ext_key_usage_oids)), server_flag=options.server_flag,
        client_flag=options.client_flag, code_signing_flag=options.code_signing_flag,
        email_protection_flag=options.email_protection_flag,
    )
    if usage.key_usage:
        builder = builder.add_extension(key_usage_extension(usage.key_usage), critical=True)
    ekus = extended_key_usages(usage)
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    policies = _split(options.policy_identifiers)
    if policies:
        try:
            info = [x509.PolicyInformation(x509.ObjectIdentifier(p), None) for p in policies]
        except ValueError:
            raise InvalidCsrOptions("policy_identifiers: each must be a dotted OID", field="policy_identifiers") from None
        builder = builder.add_extension(x509.CertificatePolicies(info), critical=False)
    return builder.sign(key, signature_hash(key))


def _general_names(options: CsrOptions) -> list[x509.GeneralName]:
    dns_or_email = {value: "alt_names" for value in _split(options.alt_names)}
    if options.common_name and not options.exclude_cn_from_sans:
        dns_or_email = {options.common_name: "common_name", **dns_or_email}
    names: list[x509.GeneralName] = []
    for value, field in dns_or_email.items():
        names.append(_as_csr_option(email_name if "@" in value else dns_name, value, field))
    for value in _split(options.ip_sans):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            raise InvalidCsrOptions(f"ip_sans: '{value[:80]}' is not an IP address", field="ip_sans") from None
    names += [_as_csr_option(uri_name, u, "uri_sans") for u in _split(options.uri_sans)]
    for entry in _split(options.other_sans):
        try:
            oid, value = parse_other_san(entry)
        except PkiError as exc:
            raise InvalidCsrOptions(exc.message, field="other_sans") from None
        names.append(other_name(oid, value))
    return names


def csr_pem(csr: x509.CertificateSigningRequest) -> str:
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def key_params_of(key: object) -> tuple[str, int] | None:
    """(key_type, key_bits) of a key, in the options' terms; None for other key types."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa", key.key_size
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ec", key.curve.key_size
    return None


def _as_csr_option(make: Callable[[str, str], x509.GeneralName], value: str, field: str) -> x509.GeneralName:
    try:
        return make(value, field)
    except InvalidRequest as exc:
        raise InvalidCsrOptions(exc.message, field=field) from None
