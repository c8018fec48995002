"""Name rules of certificate templates: which common names and SANs a template lets a
certificate carry. Owns the wire-to-rules mapping (`NameRules.from_template`) and the
check of every requested name (`check_names`), following HashiCorp Vault's PKI role
semantics where the v2 contract is silent. Pure functions, no I/O."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from pki.errors import TemplateViolation
from pki.names import NOT_ASCII

# RFC 1123 §2.1: a label is letters, digits and inner hyphens, and may start with a digit.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", re.IGNORECASE)
_MAX_HOSTNAME = 253  # RFC 1035 §2.3.4: 255 octets on the wire, 253 as text; labels <= 63
_LOCAL_NAMES = ("localhost", "localdomain")
_OID = re.compile(r"[0-2](?:\.(?:0|[1-9][0-9]*))+")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # RFC 3986 §3.1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class NameRules:
    """The name-related fields of a template. Defaults are Vault's PKI role defaults
    (also what the contract shows for a template created without them)."""

    allowed_domains: tuple[str, ...] = ()  # empty: no domain matches (localhost aside)
    allow_bare_domains: bool = False  # the allowed domain itself, e.g. example.com
    allow_subdomains: bool = False  # any depth below it, wildcards of it included
    allow_glob_domains: bool = False  # '*' in allowed_domains entries is a glob
    allow_wildcard_certificates: bool = True  # '*.x' names, still matched on x
    allow_any_name: bool = False  # skip domain matching (syntax still enforced)
    enforce_hostnames: bool = True  # DNS names must be RFC 1123 hostnames
    allow_localhost: bool = True  # localhost / localdomain (subdomains need allow_subdomains)
    allow_ip_sans: bool = True
    allowed_uri_sans: tuple[str, ...] = ()  # globs; empty: no URI SANs
    allowed_other_sans: tuple[str, ...] = ()  # "<oid>;UTF8:<glob>" or "*"; empty: none
    require_cn: bool = True
    use_csr_common_name: bool = True  # on CSR signing, the CN comes from the CSR
    use_csr_sans: bool = True  # on CSR signing, the SANs come from the CSR

    @classmethod
    def from_template(cls, template: Mapping[str, Any]) -> NameRules:
        """Rules from a template's wire fields; missing or null fields take the default,
        unrelated keys are ignored. Raises TypeError for a field of the wrong type."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = template.get(f.name)
            if raw is None:
                continue
            if isinstance(f.default, tuple):
                if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
                    raise TypeError(f"{f.name} must be a list of strings")
                values[f.name] = tuple(raw)
            elif isinstance(raw, bool):
                values[f.name] = raw
            else:
                raise TypeError(f"{f.name} must be a boolean")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class NameRequest:
    """The names a certificate asks for, as resolved by the caller (see `effective_request`)."""

    common_name: str | None = None
    alt_names: tuple[str, ...] = ()
    ip_sans: tuple[str, ...] = ()
    uri_sans: tuple[str, ...] = ()
    other_sans: tuple[str, ...] = ()
    # Only decides whether the CN is copied into the SANs; the CN is checked either way.
    exclude_cn_from_sans: bool = False


def effective_request(rules: NameRules, request: NameRequest, csr: NameRequest) -> NameRequest:
    """The names to check and issue when signing a CSR: Vault's use_csr_common_name and
    use_csr_sans take the CN and the SANs from the CSR instead of the request. A CSR without
    a CN (or without any SAN) leaves the request's."""
    if rules.use_csr_common_name and csr.common_name:
        request = replace(request, common_name=csr.common_name)
    if rules.use_csr_sans and (csr.alt_names or csr.ip_sans or csr.uri_sans or csr.other_sans):
        request = replace(request, alt_names=csr.alt_names, ip_sans=csr.ip_sans,
                          uri_sans=csr.uri_sans, other_sans=csr.other_sans)
    return request


def check_names(rules: NameRules, request: NameRequest, template_name: str) -> None:
    """Check every requested name against the template's rules.

    Raises TemplateViolation (with `field` set) at the first name refused, with a
    message naming the field, the value, the template and the rule."""
    cn = request.common_name
    if not cn and rules.require_cn:
        raise TemplateViolation(
            f"common_name: a common name is required by template {template_name!r}: "
            "require_cn=true", field="common_name")
    checks: tuple[tuple[str, tuple[str, ...], Callable[[str, NameRules], str | None]], ...] = (
        ("common_name", (cn,) if cn else (), _dns_rule),
        ("alt_names", request.alt_names, _dns_rule),
        ("ip_sans", request.ip_sans, _ip_rule),
        ("uri_sans", request.uri_sans, _uri_rule),
        ("other_sans", request.other_sans, _other_san_rule),
    )
    for field, values, rule_for in checks:
        for value in values:
            if (broken := rule_for(value, rules)) is not None:
                raise TemplateViolation(
                    f"{field}: {value!r} is not allowed by template {template_name!r}: {broken}",
                    field=field)


def parse_other_san(entry: str) -> tuple[str, str]:
    """Split "<dotted oid>;UTF8:<value>" (type case-insensitive, "UTF-8" too, as Vault)
    into (oid, value). Raises TemplateViolation with field other_sans if malformed."""
    parsed = _split_other_san(entry)
    if isinstance(parsed, str):
        raise TemplateViolation(f"other_sans: {entry!r} is malformed: {parsed}", field="other_sans")
    return parsed


def _split_other_san(entry: str) -> tuple[str, str] | str:
    """(oid, value), or the reason the entry is malformed."""
    oid, semicolon, rest = entry.partition(";")
    kind, colon, value = rest.partition(":")
    if not semicolon or not colon:
        return "expected '<oid>;UTF8:<value>'"
    if not _OID.fullmatch(oid) or (oid[0] in "01" and int(oid.split(".")[1]) >= 40):
        return f"{oid!r} is not a dotted object identifier (X.660)"
    if kind.lower() not in ("utf8", "utf-8"):
        return f"type {kind!r} is not supported, only UTF8"
    return oid, value


def _glob(pattern: str, value: str, *, fold_case: bool = False) -> bool:
    """Vault's glob: only '*' is special and it matches any run, dots included."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, re.IGNORECASE if fold_case else 0) is not None


def _hostname_error(host: str) -> str | None:
    """Why `host` (wildcard label already removed) is not an RFC 1123 hostname, or None."""
    if len(host) > _MAX_HOSTNAME:
        return f"longer than {_MAX_HOSTNAME} characters (RFC 1035)"
    if not host.isascii():
        return NOT_ASCII
    labels = host.split(".")
    for label in labels:
        if not label:
            return "empty label"
        if len(label) > 63:
            return "a label is longer than 63 characters (RFC 1035)"
        if not _LABEL.fullmatch(label):
            return f"label {label!r} is not letters, digits and inner hyphens (RFC 1123)"
        if label.lower().startswith("xn--"):
            try:
                label.lower().encode("ascii").decode("idna")
            except UnicodeError:
                return f"label {label!r} is not a valid IDNA A-label (RFC 5890)"
    if labels[-1].isdigit():
        return "numeric top-level label (RFC 1123 §2.1); IP addresses go in ip_sans"
    return None


def _dns_rule(name: str, rules: NameRules) -> str | None:
    """The rule a CN or DNS/email SAN breaks, or None. Emails are judged by their domain."""
    if not name:
        return "names must not be empty"
    if _CONTROL.search(name):
        return "names must not contain control characters"
    is_email = "@" in name
    if is_email:
        local, _, host = name.partition("@")
        if not local or not host or "@" in host:
            return "an email-like name must be '<user>@<domain>'"
    else:
        host = name
    host = host.lower()
    wildcard = host.startswith("*.")
    base = host[2:] if wildcard else host
    if "*" in base or (is_email and wildcard):
        return "'*' is only allowed as the whole leftmost label of a hostname"
    if wildcard and not rules.allow_wildcard_certificates:
        return "allow_wildcard_certificates=false"
    if rules.enforce_hostnames and (why := _hostname_error(base)) is not None:
        return f"enforce_hostnames=true ({why})"

    # An explicit allow_localhost=false wins even over allow_any_name (Vault would let
    # any-name through): the operator said no to loopback names.
    local_bare = base in _LOCAL_NAMES and not wildcard
    local_sub = base.endswith((".localhost", ".localdomain")) or (wildcard and base in _LOCAL_NAMES)
    if local_bare or local_sub:
        if not rules.allow_localhost:
            return "allow_localhost=false"
        if local_bare or rules.allow_subdomains:
            return None
    if rules.allow_any_name:
        return None
    return _domain_rule(host, base, wildcard, rules)


def _domain_rule(host: str, base: str, wildcard: bool, rules: NameRules) -> str | None:
    """Match against allowed_domains; on refusal name the flag that would have allowed it."""
    would_allow: list[str] = []
    for domain in (d.lower() for d in rules.allowed_domains if d):
        if "*" in domain:  # a glob: only ever matched as one, on the full name
            if _glob(domain, host, fold_case=True):
                if rules.allow_glob_domains:
                    return None
                would_allow.append("allow_glob_domains")
        elif base == domain and not wildcard:
            if rules.allow_bare_domains:
                return None
            would_allow.append("allow_bare_domains")
        elif base.endswith("." + domain) or (wildcard and base == domain):
            if rules.allow_subdomains:
                return None
            would_allow.append("allow_subdomains")
    if not rules.allowed_domains:
        return "allowed_domains is empty (allow_any_name=false)"
    if not would_allow:  # unrelated name: show the matching modes that are off
        would_allow = [flag for flag in ("allow_bare_domains", "allow_subdomains")
                       if not getattr(rules, flag)]
        if not rules.allow_glob_domains and any("*" in d for d in rules.allowed_domains):
            would_allow.append("allow_glob_domains")
    flags = ", ".join(f"{flag}=false" for flag in dict.fromkeys(would_allow))
    listed = "allowed_domains=" + ",".join(rules.allowed_domains)
    return f"{listed} ({flags})" if flags else listed


def _ip_rule(value: str, rules: NameRules) -> str | None:
    if not rules.allow_ip_sans:
        return "allow_ip_sans=false"
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return "not an IPv4 or IPv6 address"
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return "a zone index cannot go in a certificate"
    return None


def _uri_rule(value: str, rules: NameRules) -> str | None:
    if not rules.allowed_uri_sans:
        return "allowed_uri_sans is empty (no URI SANs allowed)"
    # RFC 5280 §4.2.1.6: a URI SAN is an IA5String holding an RFC 3986 URI with a scheme.
    if not _SCHEME.match(value) or not value.isascii() or re.search(r"[\s\x00-\x1f\x7f]", value):
        return "not a URI with a scheme (RFC 3986)"
    if any(_glob(pattern, value) for pattern in rules.allowed_uri_sans):
        return None
    return "allowed_uri_sans=" + ",".join(rules.allowed_uri_sans)


def _other_san_rule(value: str, rules: NameRules) -> str | None:
    parsed = _split_other_san(value)
    if isinstance(parsed, str):
        return f"malformed other SAN ({parsed})"
    if "*" in rules.allowed_other_sans:
        return None
    oid, wanted = parsed
    for entry in rules.allowed_other_sans:
        allowed = _split_other_san(entry)
        if not isinstance(allowed, str) and allowed[0] == oid and _glob(allowed[1], wanted):
            return None
    if not rules.allowed_other_sans:
        return "allowed_other_sans is empty (no other SANs allowed)"
    return "allowed_other_sans=" + ",".join(rules.allowed_other_sans)
