from __future__ import annotations

import pytest

from pki.errors import TemplateViolation
from pki.templates import NameRequest, NameRules, check_names, effective_request, parse_other_san

WEB = NameRules(allowed_domains=("example.com",))


def names(cn: str | None = "www.example.com", **sans: tuple[str, ...]) -> NameRequest:
    return NameRequest(common_name=cn, **sans)  # type: ignore[arg-type]


def assert_allowed(rules: NameRules, request: NameRequest) -> None:
    check_names(rules, request, "web")


def assert_refused(rules: NameRules, request: NameRequest, field: str, value: str, rule: str) -> None:
    with pytest.raises(TemplateViolation) as exc:
        check_names(rules, request, "web")
    assert exc.value.field == field
    assert exc.value.code == "template_violation"
    assert str(exc.value) == f"{field}: {value!r} is not allowed by template 'web': {rule}"


# --- from_template ---------------------------------------------------------------------

def test_defaults_are_vaults_role_defaults() -> None:
    rules = NameRules()
    assert rules.allowed_domains == () and rules.allowed_uri_sans == () and rules.allowed_other_sans == ()
    assert rules.allow_localhost and rules.allow_ip_sans and rules.enforce_hostnames
    assert rules.allow_wildcard_certificates and rules.require_cn
    assert rules.use_csr_common_name and rules.use_csr_sans
    assert not (rules.allow_bare_domains or rules.allow_subdomains or rules.allow_glob_domains
                or rules.allow_any_name)


def test_from_template_reads_wire_fields_and_ignores_others() -> None:
    rules = NameRules.from_template({
        "name": "web", "certificate_authority": "int-ca", "max_ttl": "24h", "key_bits": 2048,
        "allowed_domains": ["example.com", "acme.com"], "allow_subdomains": True,
        "allowed_uri_sans": ["spiffe://example.org/*"], "allow_localhost": False,
        "allowed_other_sans": None,
    })
    assert rules == NameRules(allowed_domains=("example.com", "acme.com"), allow_subdomains=True,
                              allowed_uri_sans=("spiffe://example.org/*",), allow_localhost=False)


def test_from_template_refuses_a_string_where_a_list_is_expected() -> None:
    with pytest.raises(TypeError, match="allowed_domains must be a list of strings"):
        NameRules.from_template({"allowed_domains": "example.com"})


def test_from_template_refuses_a_non_boolean_flag() -> None:
    with pytest.raises(TypeError, match="allow_subdomains must be a boolean"):
        NameRules.from_template({"allow_subdomains": "yes"})


# --- bare domains ----------------------------------------------------------------------

def test_bare_domain_allowed_with_allow_bare_domains() -> None:
    assert_allowed(NameRules(allowed_domains=("example.com",), allow_bare_domains=True),
                   names("example.com"))


def test_bare_domain_match_ignores_case() -> None:
    assert_allowed(NameRules(allowed_domains=("Example.COM",), allow_bare_domains=True),
                   names("EXAMPLE.com"))


def test_bare_domain_refused_without_allow_bare_domains() -> None:
    assert_refused(WEB, names("example.com"), "common_name", "example.com",
                   "allowed_domains=example.com (allow_bare_domains=false)")


# --- subdomains ------------------------------------------------------------------------

def test_subdomain_allowed_at_any_depth_with_allow_subdomains() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_subdomains=True)
    assert_allowed(rules, names("www.example.com", alt_names=("a.b.example.com",)))


def test_subdomain_refused_without_allow_subdomains() -> None:
    assert_refused(WEB, names("www.example.com"), "common_name", "www.example.com",
                   "allowed_domains=example.com (allow_subdomains=false)")


def test_subdomains_do_not_include_the_bare_domain() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_subdomains=True)
    assert_refused(rules, names("www.example.com", alt_names=("example.com",)), "alt_names",
                   "example.com", "allowed_domains=example.com (allow_bare_domains=false)")


def test_unrelated_domain_refused_naming_the_matching_modes_that_are_off() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_bare_domains=True)
    assert_refused(rules, names("example.com", alt_names=("evil.com",)), "alt_names", "evil.com",
                   "allowed_domains=example.com (allow_subdomains=false)")


def test_suffix_that_is_not_a_label_boundary_is_not_a_subdomain() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_subdomains=True, allow_bare_domains=True)
    assert_refused(rules, names("evilexample.com"), "common_name", "evilexample.com",
                   "allowed_domains=example.com")


def test_empty_allowed_domains_refuses_every_domain() -> None:
    assert_refused(NameRules(), names("www.example.com"), "common_name", "www.example.com",
                   "allowed_domains is empty (allow_any_name=false)")


# --- globs -----------------------------------------------------------------------------

def test_glob_allowed_with_allow_glob_domains() -> None:
    rules = NameRules(allowed_domains=("web-*.corp",), allow_glob_domains=True)
    assert_allowed(rules, names("web-01.corp", alt_names=("web-eu.corp",)))


def test_glob_refused_without_allow_glob_domains() -> None:
    rules = NameRules(allowed_domains=("web-*.corp",))
    assert_refused(rules, names("web-01.corp"), "common_name", "web-01.corp",
                   "allowed_domains=web-*.corp (allow_glob_domains=false)")


def test_glob_refuses_a_name_it_does_not_match() -> None:
    rules = NameRules(allowed_domains=("web-*.corp",), allow_glob_domains=True)
    assert_refused(rules, names("db-01.corp"), "common_name", "db-01.corp",
                   "allowed_domains=web-*.corp (allow_bare_domains=false, allow_subdomains=false)")


def test_glob_entry_is_not_matched_literally_as_a_domain() -> None:
    rules = NameRules(allowed_domains=("*.example.com",), allow_subdomains=True)
    assert_refused(rules, names("www.example.com"), "common_name", "www.example.com",
                   "allowed_domains=*.example.com (allow_glob_domains=false)")


# --- wildcards -------------------------------------------------------------------------

def test_wildcard_of_allowed_domain_allowed_as_a_subdomain() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_subdomains=True)
    assert_allowed(rules, names("*.example.com", alt_names=("*.eu.example.com",)))


def test_wildcard_refused_without_allow_wildcard_certificates() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_subdomains=True,
                      allow_wildcard_certificates=False)
    assert_refused(rules, names("*.example.com"), "common_name", "*.example.com",
                   "allow_wildcard_certificates=false")


def test_wildcard_of_bare_domain_needs_allow_subdomains() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_bare_domains=True)
    assert_refused(rules, names("*.example.com"), "common_name", "*.example.com",
                   "allowed_domains=example.com (allow_subdomains=false)")


def test_wildcard_only_as_the_whole_leftmost_label() -> None:
    rules = NameRules(allow_any_name=True)
    assert_refused(rules, names("www*.example.com"), "common_name", "www*.example.com",
                   "'*' is only allowed as the whole leftmost label of a hostname")


def test_wildcard_refused_in_an_email_domain() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_subdomains=True)
    assert_refused(rules, names("user@*.example.com"), "common_name", "user@*.example.com",
                   "'*' is only allowed as the whole leftmost label of a hostname")


# --- allow_any_name and enforce_hostnames ------------------------------------------------

def test_any_name_skips_domain_matching() -> None:
    assert_allowed(NameRules(allow_any_name=True), names("anything.test", alt_names=("*.other.org",)))


def test_any_name_still_enforces_hostname_syntax() -> None:
    assert_refused(NameRules(allow_any_name=True), names("bad_host.example.com"), "common_name",
                   "bad_host.example.com",
                   "enforce_hostnames=true (label 'bad_host' is not letters, digits and inner "
                   "hyphens (RFC 1123))")


@pytest.mark.parametrize(("name", "why"), [
    ("www..example.com", "empty label"),
    ("example.com.", "empty label"),
    ("-www.example.com", "label '-www' is not letters, digits and inner hyphens (RFC 1123)"),
    ("a" * 64 + ".com", "a label is longer than 63 characters (RFC 1035)"),
    ("a." * 127 + "com", "longer than 253 characters (RFC 1035)"),
    ("bücher.example.com", "not ASCII; send internationalized names as xn-- A-labels (RFC 5890)"),
    ("xn--zz-.example.com", "label 'xn--zz-' is not letters, digits and inner hyphens (RFC 1123)"),
    ("xn--a.example.com", "label 'xn--a' is not a valid IDNA A-label (RFC 5890)"),
    ("10.0.0.1", "numeric top-level label (RFC 1123 §2.1); IP addresses go in ip_sans"),
])
def test_enforce_hostnames_refuses_malformed_names(name: str, why: str) -> None:
    assert_refused(NameRules(allow_any_name=True), names(name), "common_name", name,
                   f"enforce_hostnames=true ({why})")


def test_enforce_hostnames_accepts_idna_a_labels() -> None:
    assert_allowed(NameRules(allow_any_name=True), names("xn--bcher-kva.example.com"))


def test_enforce_hostnames_off_accepts_odd_names() -> None:
    rules = NameRules(allow_any_name=True, enforce_hostnames=False)
    assert_allowed(rules, names("John Smith", alt_names=("bad_host.example.com", "bücher.de")))


def test_enforce_hostnames_off_still_matches_domains() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_subdomains=True, enforce_hostnames=False)
    assert_allowed(rules, names("my_host.example.com"))
    assert_refused(rules, names("my_host.other.com"), "common_name", "my_host.other.com",
                   "allowed_domains=example.com (allow_bare_domains=false)")


def test_control_characters_refused_even_without_enforce_hostnames() -> None:
    rules = NameRules(allow_any_name=True, enforce_hostnames=False)
    assert_refused(rules, names("a\nb"), "common_name", "a\nb",
                   "names must not contain control characters")


def test_empty_alt_name_refused() -> None:
    assert_refused(NameRules(allow_any_name=True), names(alt_names=("",)), "alt_names", "",
                   "names must not be empty")


# --- email-like names ----------------------------------------------------------------------

def test_email_checked_by_its_domain() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_bare_domains=True)
    assert_allowed(rules, names("alice@example.com", alt_names=("bob@example.com",)))
    assert_refused(rules, names("alice@evil.com"), "common_name", "alice@evil.com",
                   "allowed_domains=example.com (allow_subdomains=false)")


def test_email_with_two_at_signs_refused() -> None:
    assert_refused(NameRules(allow_any_name=True), names("a@b@example.com"), "common_name",
                   "a@b@example.com", "an email-like name must be '<user>@<domain>'")


# --- localhost -------------------------------------------------------------------------

def test_localhost_allowed_by_default_without_allowed_domains() -> None:
    assert_allowed(NameRules(), names("localhost", alt_names=("localdomain", "me@localhost")))


def test_localhost_subdomains_need_allow_subdomains() -> None:
    assert_allowed(NameRules(allow_subdomains=True), names("app.localhost", alt_names=("*.localhost",)))
    assert_refused(NameRules(), names("app.localhost"), "common_name", "app.localhost",
                   "allowed_domains is empty (allow_any_name=false)")


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST", "localdomain", "app.localhost",
                                  "*.localhost", "me@localhost"])
def test_localhost_refused_without_allow_localhost_even_with_any_name(name: str) -> None:
    rules = NameRules(allow_localhost=False, allow_any_name=True, allow_subdomains=True)
    assert_refused(rules, names(name), "common_name", name, "allow_localhost=false")


# --- IP SANs ---------------------------------------------------------------------------

def test_ip_sans_allowed_v4_and_v6() -> None:
    assert_allowed(NameRules(allow_any_name=True), names(ip_sans=("10.0.0.1", "2001:db8::1")))


def test_ip_sans_refused_without_allow_ip_sans() -> None:
    rules = NameRules(allow_any_name=True, allow_ip_sans=False)
    assert_refused(rules, names(ip_sans=("10.0.0.1",)), "ip_sans", "10.0.0.1", "allow_ip_sans=false")


@pytest.mark.parametrize("value", ["10.0.0.256", "010.0.0.1", "example.com", "10.0.0.0/8", ""])
def test_malformed_ip_san_refused(value: str) -> None:
    assert_refused(NameRules(allow_any_name=True), names(ip_sans=(value,)), "ip_sans", value,
                   "not an IPv4 or IPv6 address")


def test_ip_san_with_zone_index_refused() -> None:
    assert_refused(NameRules(allow_any_name=True), names(ip_sans=("fe80::1%eth0",)), "ip_sans",
                   "fe80::1%eth0", "a zone index cannot go in a certificate")


# --- URI SANs --------------------------------------------------------------------------

SPIFFE = NameRules(allow_any_name=True, allowed_uri_sans=("spiffe://example.org/*", "urn:x:1"))


def test_uri_san_allowed_by_glob_or_exact_entry() -> None:
    assert_allowed(SPIFFE, names(uri_sans=("spiffe://example.org/ns/web", "urn:x:1")))


def test_uri_san_refused_when_no_pattern_matches() -> None:
    assert_refused(SPIFFE, names(uri_sans=("spiffe://evil.org/web",)), "uri_sans",
                   "spiffe://evil.org/web", "allowed_uri_sans=spiffe://example.org/*,urn:x:1")


def test_uri_san_refused_when_template_allows_none() -> None:
    assert_refused(NameRules(allow_any_name=True), names(uri_sans=("https://example.com",)),
                   "uri_sans", "https://example.com", "allowed_uri_sans is empty (no URI SANs allowed)")


@pytest.mark.parametrize("value", ["example.org/web", "spiffe://example.org/a b", "1http://x"])
def test_malformed_uri_san_refused(value: str) -> None:
    rules = NameRules(allow_any_name=True, allowed_uri_sans=("*",))
    assert_refused(rules, names(uri_sans=(value,)), "uri_sans", value,
                   "not a URI with a scheme (RFC 3986)")


# --- other SANs ------------------------------------------------------------------------

UPN = NameRules(allow_any_name=True, allowed_other_sans=("1.3.6.1.4.1.311.20.2.3;UTF8:*@example.com",))


def test_other_san_allowed_by_oid_and_value_glob() -> None:
    assert_allowed(UPN, names(other_sans=("1.3.6.1.4.1.311.20.2.3;utf-8:alice@example.com",)))


def test_other_san_allowed_by_star() -> None:
    rules = NameRules(allow_any_name=True, allowed_other_sans=("*",))
    assert_allowed(rules, names(other_sans=("1.2.3.4;UTF8:anything",)))


def test_other_san_refused_for_a_value_outside_the_glob() -> None:
    assert_refused(UPN, names(other_sans=("1.3.6.1.4.1.311.20.2.3;UTF8:alice@evil.com",)),
                   "other_sans", "1.3.6.1.4.1.311.20.2.3;UTF8:alice@evil.com",
                   "allowed_other_sans=1.3.6.1.4.1.311.20.2.3;UTF8:*@example.com")


def test_other_san_refused_for_another_oid() -> None:
    assert_refused(UPN, names(other_sans=("1.2.3.4;UTF8:alice@example.com",)), "other_sans",
                   "1.2.3.4;UTF8:alice@example.com",
                   "allowed_other_sans=1.3.6.1.4.1.311.20.2.3;UTF8:*@example.com")


def test_other_san_refused_when_template_allows_none() -> None:
    assert_refused(NameRules(allow_any_name=True), names(other_sans=("1.2.3.4;UTF8:x",)),
                   "other_sans", "1.2.3.4;UTF8:x", "allowed_other_sans is empty (no other SANs allowed)")


@pytest.mark.parametrize(("value", "why"), [
    ("1.2.3.4:UTF8:x", "expected '<oid>;UTF8:<value>'"),
    ("1.2.3.4;UTF8", "expected '<oid>;UTF8:<value>'"),
    ("upn;UTF8:x", "'upn' is not a dotted object identifier (X.660)"),
    ("1.40.3;UTF8:x", "'1.40.3' is not a dotted object identifier (X.660)"),
    ("1.2.3.4;IA5:x", "type 'IA5' is not supported, only UTF8"),
])
def test_malformed_other_san_refused(value: str, why: str) -> None:
    rules = NameRules(allow_any_name=True, allowed_other_sans=("*",))
    assert_refused(rules, names(other_sans=(value,)), "other_sans", value, f"malformed other SAN ({why})")


def test_parse_other_san_splits_oid_and_value() -> None:
    assert parse_other_san("1.3.6.1.4.1.311.20.2.3;UTF-8:a;b:c") == ("1.3.6.1.4.1.311.20.2.3", "a;b:c")


def test_parse_other_san_refuses_malformed_entry() -> None:
    with pytest.raises(TemplateViolation) as exc:
        parse_other_san("1.2.3.4=x")
    assert exc.value.field == "other_sans"
    assert str(exc.value) == "other_sans: '1.2.3.4=x' is malformed: expected '<oid>;UTF8:<value>'"


# --- common name -----------------------------------------------------------------------

@pytest.mark.parametrize("cn", [None, ""])
def test_missing_common_name_refused_when_required(cn: str | None) -> None:
    with pytest.raises(TemplateViolation) as exc:
        check_names(WEB, names(cn), "web")
    assert exc.value.field == "common_name"
    assert str(exc.value) == "common_name: a common name is required by template 'web': require_cn=true"


def test_missing_common_name_allowed_when_not_required() -> None:
    assert_allowed(NameRules(allow_any_name=True, require_cn=False), names(None, alt_names=("a.test",)))


def test_common_name_checked_even_when_excluded_from_sans() -> None:
    request = NameRequest(common_name="evil.com", exclude_cn_from_sans=True)
    assert_refused(WEB, request, "common_name", "evil.com",
                   "allowed_domains=example.com (allow_bare_domains=false, allow_subdomains=false)")


def test_first_refused_alt_name_is_reported() -> None:
    rules = NameRules(allowed_domains=("example.com",), allow_subdomains=True)
    assert_refused(rules, names(alt_names=("a.example.com", "evil.com", "worse.org")), "alt_names",
                   "evil.com", "allowed_domains=example.com (allow_bare_domains=false)")


# --- CSR names -------------------------------------------------------------------------

CSR = NameRequest(common_name="csr.example.com", alt_names=("csr-alt.example.com",))
ASKED = NameRequest(common_name="api.example.com", ip_sans=("10.0.0.1",), exclude_cn_from_sans=True)


def test_csr_names_replace_requested_names_by_default() -> None:
    assert effective_request(NameRules(), ASKED, CSR) == NameRequest(
        common_name="csr.example.com", alt_names=("csr-alt.example.com",), exclude_cn_from_sans=True)


def test_requested_names_kept_when_template_does_not_use_csr_names() -> None:
    rules = NameRules(use_csr_common_name=False, use_csr_sans=False)
    assert effective_request(rules, ASKED, CSR) == ASKED
