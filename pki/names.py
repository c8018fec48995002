"""Subjects and subject alternative names: wire fields to `cryptography` objects."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography import x509
from cryptography.x509.oid import NameOID

from pki.errors import InvalidRequest

_Name = TypeVar("_Name", bound=x509.GeneralName)

SUBJECT_FIELDS = {
    "country": NameOID.COUNTRY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
    "street_address": NameOID.STREET_ADDRESS,
    "postal_code": NameOID.POSTAL_CODE,
    "organization": NameOID.ORGANIZATION_NAME,
    "ou": NameOID.ORGANIZATIONAL_UNIT_NAME,
}


@dataclass(frozen=True, slots=True)
class Subject:
    common_name: str | None = None
    # each a list, as the contract sends them
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    serial_number: str | None = None

    @classmethod
    def from_fields(cls, common_name: str | None, fields: dict[str, Any]) -> Subject:
        parts = {k: tuple(str(v) for v in fields.get(k) or ()) for k in SUBJECT_FIELDS}
        return cls(common_name, {k: v for k, v in parts.items() if v}, fields.get("serial_number") or None)

    @classmethod
    def from_name(cls, name: x509.Name) -> Subject:
        """The subject of a name `to_name` made (a CA's CSR or certificate), to build it again:
        `Subject.from_name(s.to_name()).to_name() == s.to_name()`. Raises InvalidRequest for
        an attribute `to_name` never writes."""
        fields = {oid: key for key, oid in SUBJECT_FIELDS.items()}
        common_name, serial, parts = None, None, {}
        for attribute in name:
            value = str(attribute.value)
            if attribute.oid == NameOID.COMMON_NAME and common_name is None:
                common_name = value
            elif attribute.oid == NameOID.SERIAL_NUMBER and serial is None:
                serial = value
            elif attribute.oid in fields:
                key = fields[attribute.oid]
                parts[key] = (*parts.get(key, ()), value)
            else:
                raise InvalidRequest(f"subject: attribute {attribute.oid.dotted_string} is not one certkeeper sets",
                                     field="common_name")
        return cls(common_name, parts, serial)

    def to_name(self) -> x509.Name:
        """Raises InvalidRequest naming the field whose value X.509 does not allow."""
        attrs: list[x509.NameAttribute] = []
        for key, oid in SUBJECT_FIELDS.items():
            attrs += [_attribute(key, oid, value) for value in self.parts.get(key, ())]
        if self.serial_number:
            attrs.append(_attribute("serial_number", NameOID.SERIAL_NUMBER, self.serial_number))
        if self.common_name:
            attrs.append(_attribute("common_name", NameOID.COMMON_NAME, self.common_name))
        try:
            return x509.Name(attrs)
        except ValueError as exc:
            raise InvalidRequest(f"subject: {exc}", field="common_name") from None


# Attributes `cryptography` encodes as PrintableString (RFC 5280 appendix A), whose alphabet it
# checks only when the certificate is signed: checked here, so the error names the field.
_PRINTABLE_STRING = {NameOID.COUNTRY_NAME, NameOID.SERIAL_NUMBER}
_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]*")


def _attribute(field_name: str, oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute:
    """One subject attribute; `cryptography` enforces RFC 5280's upper bounds (ub-common-name
    is 64 characters, a country is 2), which we report as the field's error."""
    if oid in _PRINTABLE_STRING and not _PRINTABLE.fullmatch(value):
        raise InvalidRequest(f"{field_name}: '{value[:80]}' has characters a PrintableString cannot hold "
                             "(letters, digits, space and ' ( ) + , - . / : = ? only)", field=field_name)
    try:
        return x509.NameAttribute(oid, value)
    except ValueError as exc:
        raise InvalidRequest(f"{field_name}: {exc}", field=field_name) from None


NOT_ASCII = "not ASCII; send internationalized names as xn-- A-labels (RFC 5890)"
_URI_NOT_ASCII = "not ASCII; percent-encode it or send its host as an xn-- A-label"


def dns_name(value: str, field_name: str = "alt_names") -> x509.DNSName:
    """A DNS name for a SAN or a name constraint."""
    return _ia5_name(x509.DNSName, value, field_name, NOT_ASCII)


def email_name(value: str, field_name: str = "alt_names") -> x509.RFC822Name:
    """An email address SAN (an RFC 822 name)."""
    return _ia5_name(x509.RFC822Name, value, field_name, NOT_ASCII)


def uri_name(value: str, field_name: str = "uri_sans") -> x509.UniformResourceIdentifier:
    """A URI SAN: a non-ASCII character must be percent-encoded (RFC 3987 section 3.1)."""
    return _ia5_name(x509.UniformResourceIdentifier, value, field_name, _URI_NOT_ASCII)


def _ia5_name(kind: Callable[[str], _Name], value: str, field_name: str, not_ascii: str) -> _Name:
    """X.509 holds these names as IA5 (ASCII) text; `cryptography` refuses others with a
    ValueError, reported here as the field's error."""
    if not value.isascii():
        raise InvalidRequest(f"{field_name}: '{value[:80]}' is {not_ascii}", field=field_name)
    try:
        return kind(value)
    except ValueError as exc:
        raise InvalidRequest(f"{field_name}: '{value[:80]}': {exc}", field=field_name) from None


def parse_ips(values: Iterable[str], field_name: str = "ip_sans") -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise InvalidRequest(f"{field_name}: '{value[:80]}' is not an IP address", field=field_name) from None
    return out


def other_name(oid: str, value: str) -> x509.OtherName:
    """An otherName SAN with a UTF8String value (DER: tag 0x0C, length, bytes)."""
    raw = value.encode()
    if len(raw) < 0x80:
        length = bytes([len(raw)])
    else:
        size = (len(raw).bit_length() + 7) // 8
        length = bytes([0x80 | size]) + len(raw).to_bytes(size, "big")
    return x509.OtherName(x509.ObjectIdentifier(oid), b"\x0c" + length + raw)


def san_extension(
    dns: Sequence[str], ips: Sequence[str], uris: Sequence[str], others: Sequence[tuple[str, str]]
) -> x509.SubjectAlternativeName | None:
    # An alt name with an '@' is an email address (rfc822Name, RFC 5280 4.2.1.6), as in Vault.
    names: list[x509.GeneralName] = [email_name(d) if "@" in d else dns_name(d) for d in dict.fromkeys(dns)]
    names += [x509.IPAddress(ip) for ip in parse_ips(ips)]
    names += [uri_name(u) for u in uris]
    names += [other_name(oid, value) for oid, value in others]
    return x509.SubjectAlternativeName(names) if names else None


def sans_of(cert: x509.Certificate | x509.CertificateSigningRequest) -> dict[str, list[str]]:
    """DNS names and email addresses (as alt_names), IPs and URIs of a certificate or CSR
    (empty lists when none)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return {"alt_names": [], "ip_sans": [], "uri_sans": []}
    return {
        "alt_names": [*ext.get_values_for_type(x509.DNSName), *ext.get_values_for_type(x509.RFC822Name)],
        "ip_sans": [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)],
        "uri_sans": list(ext.get_values_for_type(x509.UniformResourceIdentifier)),
    }


def common_name_of(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def _within(name: str, subtree: str) -> bool:
    """RFC 5280 4.2.1.10: a DNS name satisfies a constraint when it is the constraint with
    zero or more labels added on the left; a constraint with a leading dot (as OpenSSL reads
    it) only with one or more."""
    name, subtree = name.lower().rstrip("."), subtree.lower().rstrip(".")
    if subtree.startswith("."):
        return name.endswith(subtree)
    return name == subtree or name.endswith("." + subtree)


def outside_name_constraints(issuers: Sequence[x509.Certificate], dns_names: Sequence[str]) -> tuple[str, str] | None:
    """The first DNS name the name constraints of ``issuers`` (a CA and those above it) do
    not permit, with why; None when they permit them all (a certificate with such a name
    would fail every verifier's chain check)."""
    for issuer in issuers:
        try:
            constraints = issuer.extensions.get_extension_for_class(x509.NameConstraints).value
        except x509.ExtensionNotFound:
            continue
        permitted = [g.value for g in constraints.permitted_subtrees or () if isinstance(g, x509.DNSName)]
        excluded = [g.value for g in constraints.excluded_subtrees or () if isinstance(g, x509.DNSName)]
        for name in dns_names:
            if permitted and not any(_within(name, d) for d in permitted):
                return name, f"permitted_dns_domains={','.join(permitted)} of CA '{issuer.subject.rfc4514_string()}'"
            if any(_within(name, d) for d in excluded):
                return name, f"excluded DNS names {','.join(excluded)} of CA '{issuer.subject.rfc4514_string()}'"
    return None
