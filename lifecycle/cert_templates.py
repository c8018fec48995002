"""Certificate templates: which CA signs, which names, TTLs, keys and usages are allowed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.ca_store import INTERMEDIATE_CA, TEMPLATE, get_ca_config, reject
from lifecycle.core import Actor, Core
from lifecycle.durations import parse_duration
from lifecycle.errors import InvalidInput, NotFound, from_pki_error
from lifecycle.records import ConfigRecord
from lifecycle.store import Tx
from pki.errors import PkiError
from pki.issuance import Usage, extended_key_usages, key_usage_extension, policies_extension
from pki.keys import check_key_params
from pki.names import Subject
from pki.templates import NameRules, parse_other_san

# Defaults where the contract is silent follow Vault's PKI roles.
DEFAULTS: dict[str, Any] = {
    "allow_localhost": True, "allow_bare_domains": False, "allow_subdomains": False, "allow_glob_domains": False,
    "allow_wildcard_certificates": True, "allow_any_name": False, "enforce_hostnames": True, "allow_ip_sans": True,
    "allowed_domains": [], "allowed_uri_sans": [], "allowed_other_sans": [], "allowed_domains_template": False,
    "server_flag": True, "client_flag": True, "code_signing_flag": False, "email_protection_flag": False,
    "key_type": "rsa", "key_usage": ["DigitalSignature", "KeyAgreement", "KeyEncipherment"], "ext_key_usage": [],
    "ext_key_usage_oids": [], "use_csr_common_name": True, "use_csr_sans": True, "require_cn": True,
    "policy_identifiers": [], "basic_constraints_valid_for_non_ca": False, "not_before_duration": "30s",
    "allowed_secret_groups": "",
}


def template_attributes(fields: dict[str, Any], *, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate template fields over ``base`` (defaults on create); durations in seconds."""
    merged = dict(base or DEFAULTS) | {k: v for k, v in fields.items() if v is not None and k not in ("name", "config_type")}
    if not merged.get("certificate_authority"):
        raise reject("certificate_authority", "is required")
    try:
        key_type, key_bits = check_key_params(merged.get("key_type") or "rsa", merged.get("key_bits"))
        key_usage_extension(merged.get("key_usage") or [])
        extended_key_usages(usage_of(merged | {"key_type": key_type}))
        policies_extension(merged.get("policy_identifiers") or [])
        Subject.from_fields(None, merged).to_name()
    except PkiError as exc:
        raise from_pki_error(exc) from None
    merged |= {"key_type": key_type, "key_bits": key_bits}
    try:
        NameRules.from_template(merged)
        for entry in merged.get("allowed_other_sans") or ():
            if entry != "*":
                parse_other_san(entry)
    except TypeError as exc:
        raise InvalidInput(f"template: {exc}") from None
    except PkiError as exc:
        raise InvalidInput(f"allowed_other_sans: {exc.message}", field="allowed_other_sans") from None
    for key in ("max_ttl", "ttl", "not_before_duration"):
        if key in merged:
            merged[f"{key}_seconds"] = int(parse_duration(merged.pop(key), key).total_seconds())
    if merged.get("ttl_seconds") and merged.get("max_ttl_seconds") and merged["ttl_seconds"] > merged["max_ttl_seconds"]:
        raise reject("ttl", "is longer than max_ttl")
    return merged


def usage_of(attrs: dict[str, Any]) -> Usage:
    return Usage(
        key_usage=tuple(attrs.get("key_usage") or ()),
        ext_key_usage=tuple(attrs.get("ext_key_usage") or ()),
        ext_key_usage_oids=tuple(attrs.get("ext_key_usage_oids") or ()),
        server_flag=bool(attrs.get("server_flag")),
        client_flag=bool(attrs.get("client_flag")),
        code_signing_flag=bool(attrs.get("code_signing_flag")),
        email_protection_flag=bool(attrs.get("email_protection_flag")),
        policy_identifiers=tuple(attrs.get("policy_identifiers") or ()),
        basic_constraints_valid_for_non_ca=bool(attrs.get("basic_constraints_valid_for_non_ca")),
    )


def name_rules(attrs: dict[str, Any]) -> NameRules:
    return NameRules.from_template(attrs)


def create_template(tx: Tx, core: Core, actor: Actor, name: str, fields: dict[str, Any]) -> ConfigRecord:
    now = core.clock()
    attrs = template_attributes(fields)
    ca = get_ca_config(tx, attrs["certificate_authority"], for_update=True)
    if ca.config_type != INTERMEDIATE_CA:
        raise reject("certificate_authority", f"'{ca.name}' is a root CA; templates issue from intermediate CAs")
    config = ConfigRecord(
        name=name, config_type=TEMPLATE, status=None, attributes=attrs, certificate=None, chain=None, csr=None,
        key_payload=None, key_wrapped=None, key_id=None, crl_der=None, crl_number=0, crl_next_update=None,
        created_by=actor.principal, created_at=now, updated_at=now,
    )
    tx.insert_config(config)
    if ca.status == "certificate_template_required":
        tx.update_config(ca.name, status="configured", updated_at=now)
    return config


def load_template(tx: Tx, name: str) -> ConfigRecord:
    config = tx.get_config(name)
    if config is None or config.config_type != TEMPLATE:
        raise NotFound("certificate template", name)
    return config


def ttl_for(attrs: dict[str, Any], requested: Any, ca_max_ttl_seconds: int) -> timedelta:
    """The TTL of a new certificate: requested, else the template's ttl, else its max; capped."""
    max_seconds = min(attrs.get("max_ttl_seconds") or ca_max_ttl_seconds, ca_max_ttl_seconds)
    if requested is not None:
        ttl = parse_duration(requested, "ttl")
        if ttl.total_seconds() > max_seconds:
            raise reject("ttl", f"{int(ttl.total_seconds())}s is longer than the template's max_ttl ({max_seconds}s)")
        return ttl
    return timedelta(seconds=min(attrs.get("ttl_seconds") or max_seconds, max_seconds))
