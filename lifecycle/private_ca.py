"""Private certificate authorities: creating roots and intermediates, and the CA actions
(sign_intermediate, sign_csr, set_signed, revoke_ca_certificate, rotate_intermediate).

Each function runs inside the caller's transaction; `lifecycle/configurations.py` owns
transactions, audit and dispatch.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lifecycle import crls
from lifecycle.ca_store import (
    CA_TYPES,
    INTERMEDIATE_CA,
    ROOT_CA,
    TEMPLATE,
    distribution,
    get_ca_config,
    key_holder,
    key_not_after,
    load_ca,
    load_pems,
    open_key,
    pem,
    reject,
    retire_key,
    seal_key,
)
from lifecycle.core import Actor, Core
from lifecycle.durations import parse_duration
from lifecycle.errors import Conflict, NotFound, from_pki_error
from lifecycle.records import ConfigRecord, RevocationRecord
from lifecycle.store import Tx
from pki import ca as pki_ca
from pki.csr import parse_csr
from pki.errors import PkiError
from pki.keys import check_key_params, generate_key
from pki.names import Subject, common_name_of
from pki.serials import colon_hex
from pki.templates import parse_other_san

DEFAULT_CRL_EXPIRY = "72h"  # the contract's default
SIGNING_METHODS = ("internal", "external")


def _pki(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a pki function, turning its errors into the core's (same message, field and code)."""
    try:
        return call(*args, **kwargs)
    except PkiError as exc:
        raise from_pki_error(exc) from None


def ca_attributes(fields: dict[str, Any], *, root: bool) -> dict[str, Any]:
    """Validate CA fields; return them as stored and shown (durations in seconds)."""
    if not fields.get("common_name"):
        raise reject("common_name", "is required")
    max_ttl = parse_duration(fields.get("max_ttl"), "max_ttl") if fields.get("max_ttl") is not None else None
    if max_ttl is None:
        raise reject("max_ttl", "is required")
    key_type, key_bits = _pki(check_key_params, fields.get("key_type") or "rsa", fields.get("key_bits"))
    attrs = {k: v for k, v in fields.items() if v is not None and k not in ("name", "config_type", "max_ttl", "ttl", "crl_expiry")}
    attrs |= {
        "key_type": key_type,
        "key_bits": key_bits,
        "max_ttl_seconds": int(max_ttl.total_seconds()),
        "crl_expiry_seconds": int(parse_duration(fields.get("crl_expiry") or DEFAULT_CRL_EXPIRY, "crl_expiry").total_seconds()),
        "crl_disable": bool(fields.get("crl_disable", False)),
        "crl_distribution_points_encoded": bool(fields.get("crl_distribution_points_encoded", False)),
        "issuing_certificates_urls_encoded": bool(fields.get("issuing_certificates_urls_encoded", False)),
        "format": fields.get("format") or "pem",
        "private_key_format": fields.get("private_key_format") or "der",
    }
    if root:
        ttl = parse_duration(fields["ttl"], "ttl") if fields.get("ttl") is not None else max_ttl
        if ttl > max_ttl:
            raise reject("ttl", f"{int(ttl.total_seconds())}s is longer than max_ttl ({int(max_ttl.total_seconds())}s)")
        attrs["ttl_seconds"] = int(ttl.total_seconds())
    _pki(pki_ca.check_spec, ca_spec(attrs, max_ttl))  # names a CA could never be signed with are refused now
    return attrs


def ca_spec(attrs: dict[str, Any], ttl: timedelta, crl: tuple[str, ...] = (), issuers: tuple[str, ...] = ()) -> pki_ca.CASpec:
    return pki_ca.CASpec(
        subject=Subject.from_fields(attrs.get("common_name"), attrs),
        ttl=ttl,
        alt_names=tuple(attrs.get("alt_names") or ()),
        ip_sans=tuple(_split(attrs.get("ip_sans"))),
        uri_sans=tuple(_split(attrs.get("uri_sans"))),
        other_sans=tuple(_pki(parse_other_san, o) for o in attrs.get("other_sans") or ()),
        exclude_cn_from_sans=bool(attrs.get("exclude_cn_from_sans")),
        max_path_length=attrs.get("max_path_length"),
        permitted_dns_domains=tuple(attrs.get("permitted_dns_domains") or ()),
        crl_urls=crl,
        issuer_urls=issuers,
    )


def _split(value: Any) -> list[str]:
    """IP and URI SANs come as a comma-separated string in the contract, or as a list."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [str(i).strip() for i in items if str(i).strip()]


def _record(name: str, config_type: str, status: str, attrs: dict[str, Any], actor: Actor, now: datetime, **cols: Any) -> ConfigRecord:
    values: dict[str, Any] = dict(
        name=name, config_type=config_type, status=status, attributes=attrs, certificate=None, chain=None, csr=None,
        key_payload=None, key_wrapped=None, key_id=None, crl_der=None, crl_number=0, crl_next_update=None,
        created_by=actor.principal, created_at=now, updated_at=now,
    )
    values.update(cols)
    return ConfigRecord(**values)


def create_root(tx: Tx, core: Core, actor: Actor, name: str, fields: dict[str, Any]) -> ConfigRecord:
    now = core.clock()
    attrs = ca_attributes(fields, root=True) | {"key_generation": 1}
    key = _pki(generate_key, attrs["key_type"], attrs["key_bits"])
    crl, issuers = distribution(core, name, attrs)
    cert = _pki(pki_ca.create_root, ca_spec(attrs, timedelta(seconds=attrs["ttl_seconds"]), crl, issuers), key, now)
    attrs["expiration_date"] = cert.not_valid_after_utc.isoformat()
    attrs["serial_number"] = format(cert.serial_number, "x")
    config = _record(name, ROOT_CA, "configured", attrs, actor, now, certificate=pem(cert), **seal_key(core, name, key))
    tx.insert_config(config)
    crls.rebuild(tx, core, name)
    return config


def create_intermediate(tx: Tx, core: Core, actor: Actor, name: str, fields: dict[str, Any]) -> ConfigRecord:
    now = core.clock()
    method = fields.get("signing_method") or "internal"
    if method not in SIGNING_METHODS:
        raise reject("signing_method", "must be internal or external")
    attrs = ca_attributes(fields, root=False) | {"signing_method": method, "key_generation": 1}
    if method == "internal":
        issuer = fields.get("issuer")
        if not issuer:
            raise reject("issuer", "is required when signing_method is internal")
        get_ca_config(tx, issuer)
        attrs["issuer"] = issuer
    elif fields.get("issuer"):
        raise reject("issuer", "must be empty when signing_method is external (the signer is outside certkeeper)")
    key = _pki(generate_key, attrs["key_type"], attrs["key_bits"])
    csr = _pki(pki_ca.intermediate_csr, ca_spec(attrs, timedelta(seconds=attrs["max_ttl_seconds"])), key)
    status = "signing_required" if method == "internal" else "signed_certificate_required"
    config = _record(name, INTERMEDIATE_CA, status, attrs, actor, now,
                     csr=csr.public_bytes(serialization.Encoding.PEM).decode(), **seal_key(core, name, key))
    tx.insert_config(config)
    return config


def sign_intermediate(tx: Tx, core: Core, signer: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The `sign_intermediate` action of CA ``signer``: sign a pending internal intermediate."""
    now = core.clock()
    target_name = fields.get("intermediate_certificate_authority")
    if not target_name:
        raise reject("intermediate_certificate_authority", "is required")
    issuer = load_ca(tx, core, signer, field="name", for_update=True)
    target = get_ca_config(tx, target_name, for_update=True)
    if target.config_type != INTERMEDIATE_CA or target.attributes.get("signing_method") != "internal":
        raise reject("intermediate_certificate_authority", f"'{target_name}' is not an internally signed intermediate CA")
    if target.attributes.get("issuer") != signer:
        raise reject("intermediate_certificate_authority", f"'{target_name}' names '{target.attributes.get('issuer')}' as its issuer, not '{signer}'")
    if target.status not in ("signing_required", "configured", "certificate_template_required", "expired"):
        raise Conflict(f"intermediate_certificate_authority: '{target_name}' cannot be signed while {target.status}")
    max_ttl = timedelta(seconds=target.attributes["max_ttl_seconds"])
    ttl = _ttl(fields, max_ttl, issuer.certificate, now, f"'{target_name}'")
    attrs = dict(target.attributes)
    for key in ("max_path_length", "permitted_dns_domains", "exclude_cn_from_sans"):
        if fields.get(key) is not None:
            attrs[key] = fields[key]
    csr = _pki(parse_csr, target.csr or "")
    crl, issuers = distribution(core, signer, issuer.config.attributes)
    # The subject is the CSR's, made from the configuration's fields: its attributes now hold
    # the certificate's serial as `serial_number`, the request's name for the subject's.
    spec = replace(ca_spec(attrs, ttl, crl, issuers), subject=_pki(Subject.from_name, csr.subject))
    cert = _pki(pki_ca.sign_intermediate, issuer.certificate, issuer.key, csr, spec, now)
    _install_signed(tx, core, target, cert, [issuer.certificate, *issuer.chain], attrs)
    return {"certificate": pem(cert), "issuing_ca": pem(issuer.certificate), "ca_chain": issuer.chain_pems,
            "expiration": int(cert.not_valid_after_utc.timestamp())}


def _install_signed(tx: Tx, core: Core, target: ConfigRecord, cert: x509.Certificate,
                    chain: list[x509.Certificate], attrs: dict[str, Any]) -> None:
    has_template = any(
        t.attributes.get("certificate_authority") == target.name for t in tx.list_configs(types=[TEMPLATE])[0]
    )
    attrs = attrs | {"expiration_date": cert.not_valid_after_utc.isoformat(), "serial_number": format(cert.serial_number, "x")}
    if target.certificate and target.certificate != pem(cert):
        # The certificate it replaces stays valid (leaves signed under it still chain to it),
        # so revoking the CA must revoke it too.
        replaced = x509.load_pem_x509_certificate(target.certificate.encode())
        attrs["earlier_serials"] = [*attrs.get("earlier_serials", []), format(replaced.serial_number, "x")]
        if replaced.public_key() == cert.public_key():
            # A new certificate for the same key: what the key signed under the one replaced
            # can outlive the new one, and a rotation must keep the key that long.
            attrs["key_not_after"] = key_not_after(attrs, replaced).isoformat()
    tx.update_config(
        target.name, certificate=pem(cert), chain="".join(pem(c) for c in chain), attributes=attrs,
        status="configured" if has_template else "certificate_template_required", updated_at=core.clock(),
    )
    crls.rebuild(tx, core, target.name)


def _ttl(fields: dict[str, Any], max_ttl: timedelta, issuer: x509.Certificate, now: datetime, whose: str) -> timedelta:
    """A signed CA's TTL: the one asked for, at most ``max_ttl`` (``whose``); without one, its
    max_ttl, but never past its issuer (an explicit ttl that would is refused instead)."""
    if not fields.get("ttl"):
        return min(max_ttl, issuer.not_valid_after_utc - now)
    ttl = parse_duration(fields["ttl"], "ttl")
    if ttl > max_ttl:
        raise reject("ttl", f"{int(ttl.total_seconds())}s is longer than the max_ttl of {whose} "
                            f"({int(max_ttl.total_seconds())}s)")
    return ttl


def set_signed(tx: Tx, core: Core, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The `set_signed` action: install a certificate signed outside for our CSR (chain may follow it)."""
    config = get_ca_config(tx, name, for_update=True)
    if config.config_type != INTERMEDIATE_CA or config.attributes.get("signing_method") != "external":
        raise reject("action_type", f"set_signed applies to externally signed intermediate CAs; '{name}' is not one")
    text = fields.get("certificate")
    if not isinstance(text, str) or "-----BEGIN CERTIFICATE-----" not in text:
        raise reject("certificate", "a PEM certificate (optionally followed by its chain) is required")
    try:
        certs = load_pems(text)
    except ValueError:
        raise reject("certificate", "the PEM certificate cannot be parsed") from None
    cert, chain = certs[0], certs[1:]
    _pki(pki_ca.check_signed_certificate, cert, open_key(core, config), chain)
    _install_signed(tx, core, config, cert, chain, dict(config.attributes))
    return {"certificate": pem(cert), "ca_chain": [pem(c) for c in certs],
            "expiration": int(cert.not_valid_after_utc.timestamp())}


def sign_csr(tx: Tx, core: Core, signer: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The `sign_csr` action: sign a CA certificate for a CSR made elsewhere."""
    now = core.clock()
    issuer = load_ca(tx, core, signer, field="name")
    csr = _pki(parse_csr, fields.get("csr") or "")
    attrs = {k: v for k, v in fields.items() if v is not None}
    if fields.get("use_csr_values") or not attrs.get("common_name"):
        attrs["common_name"] = attrs.get("common_name") or common_name_of(csr.subject)
    if not attrs.get("common_name"):
        raise reject("common_name", "is required (the CSR has none)")
    max_ttl = timedelta(seconds=issuer.config.attributes["max_ttl_seconds"])
    ttl = _ttl(fields, max_ttl, issuer.certificate, now, f"the signer '{signer}'")
    crl, issuers = distribution(core, signer, issuer.config.attributes)
    spec = ca_spec(attrs, ttl, crl, issuers)
    if fields.get("use_csr_values"):
        spec = replace(spec, subject=Subject(common_name_of(csr.subject) or attrs["common_name"]))
    cert = _pki(pki_ca.sign_intermediate, issuer.certificate, issuer.key, csr, spec, now)
    return {"certificate": pem(cert), "issuing_ca": pem(issuer.certificate), "ca_chain": issuer.chain_pems,
            "expiration": int(cert.not_valid_after_utc.timestamp())}


def revoke_ca_certificate(tx: Tx, core: Core, name: str) -> dict[str, Any]:
    """Revoke an intermediate's certificate: its serial goes on its issuer's CRL."""
    now = core.clock()
    config = get_ca_config(tx, name, for_update=True)
    if config.config_type != INTERMEDIATE_CA or config.certificate is None:
        raise reject("action_type", f"only a signed intermediate CA can be revoked; '{name}' is not one")
    if config.status == "revoked":
        raise Conflict(f"certificate authority '{name}' is already revoked")
    cert = x509.load_pem_x509_certificate(config.certificate.encode())
    issuer = config.attributes.get("issuer")
    if issuer:
        # Every certificate the CA held: those from before a rotation or a new signing still
        # vouch for the leaves signed under them.
        for serial in dict.fromkeys([*config.attributes.get("earlier_serials", []), format(cert.serial_number, "x")]):
            if tx.get_revocation(issuer, serial) is None:
                tx.insert_revocation(RevocationRecord(issuer, serial, now, None))
        crls.rebuild(tx, core, issuer)
    tx.update_config(name, status="revoked", updated_at=now)
    return {"revocation_time_seconds": int(now.timestamp())}


def rotate_intermediate(tx: Tx, core: Core, name: str) -> dict[str, Any]:
    """Inline rotation: a new key and certificate for an internal intermediate. Leaves signed
    before keep verifying: they chain to the old certificate, which the issuer still vouches for,
    and the old key goes on signing the CRL at the URL they embed."""
    config = get_ca_config(tx, name)
    if config.config_type != INTERMEDIATE_CA or config.attributes.get("signing_method") != "internal":
        raise reject("action_type", f"rotate_intermediate applies to internally signed intermediate CAs; '{name}' is not one")
    issuer_name = config.attributes["issuer"]
    # The issuer first, then this CA, as sign_intermediate locks them (else two admins' actions deadlock).
    get_ca_config(tx, issuer_name, for_update=True)
    config = get_ca_config(tx, name, for_update=True)
    attrs = dict(config.attributes)
    key = _pki(generate_key, attrs["key_type"], attrs["key_bits"])
    current = _pki(parse_csr, config.csr or "")  # the subject as configured (see sign_intermediate)
    spec = replace(ca_spec(attrs, timedelta(seconds=attrs["max_ttl_seconds"])),
                   subject=_pki(Subject.from_name, current.subject))
    csr = _pki(pki_ca.intermediate_csr, spec, key)
    # The old key stays (retired) to sign the CRL of what it issued; what the new one signs
    # names the new generation's URLs. A CA from before key generations had its certificates
    # embed the URLs without one: those go on serving its key of then while it is kept.
    if "key_generation" not in attrs:
        attrs["bare_urls_generation"] = 1
    attrs["key_generation"] = retire_key(tx, core, config)
    attrs.pop("key_not_after", None)
    tx.update_config(name, csr=csr.public_bytes(serialization.Encoding.PEM).decode(), attributes=attrs,
                     **seal_key(core, name, key))
    result = sign_intermediate(tx, core, issuer_name, {"intermediate_certificate_authority": name})
    return {"name": name, "config": {"certificate": result["certificate"], "expiration": result["expiration"]}}


def ca_data(config: ConfigRecord) -> dict[str, Any] | None:
    """The `data` object of a CA configuration: its certificate, or its CSR while unsigned."""
    if config.config_type not in CA_TYPES:
        return None
    if config.certificate:
        cert = x509.load_pem_x509_certificate(config.certificate.encode())
        chain = [config.certificate, *(pem(c) for c in load_pems(config.chain))]
        issuing = pem(load_pems(config.chain)[0]) if config.chain else config.certificate
        return {"certificate": config.certificate, "issuing_ca": issuing, "ca_chain": chain,
                "expiration": int(cert.not_valid_after_utc.timestamp()), "serial_number": colon_hex(cert.serial_number)}
    if config.csr:
        return {"csr": config.csr}
    return None


def key_certificate(core: Core, name: str, generation: int | None, *, bare: bool = False) -> str:
    """The CA's certificate (PEM) for its key ``generation`` (without one: the current key's, or
    at the URL without a generation (``bare``) the key `served_generation` names): the one
    at the URL what that key signed embeds. Raises NotFound."""
    with core.store.reader() as tx:
        config = tx.get_config(name)
        if config is None:
            raise NotFound("certificate authority", name)
        if config.config_type not in CA_TYPES:
            raise NotFound("certificate of certificate authority", name)  # as for a CA not yet signed
        holder = key_holder(tx, config, generation, core.clock(), bare=bare)
        if holder is None:
            raise NotFound(f"certificate of key generation {generation} of certificate authority", name)
        if holder.certificate is None:
            raise NotFound("certificate of certificate authority", name)
        return holder.certificate
