"""Engine configurations (private CAs and certificate templates): create, list, read,
patch, delete and actions, each one transaction with its audit event."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lifecycle import audit, cert_templates, crls, private_ca, public_configs
from lifecycle.ca_store import CA_TYPES, INTERMEDIATE_CA, ROOT_CA, TEMPLATE, USABLE, get_ca_config, reject, require_name_free
from lifecycle.core import Actor, Core
from lifecycle.errors import Conflict, Forbidden, InvalidInput, NotFound
from lifecycle.records import ConfigRecord
from lifecycle.rules import check_name
from lifecycle.vocabulary import CONTRACT_SECRET_TYPES

CONFIG_TYPES = (ROOT_CA, INTERMEDIATE_CA, TEMPLATE, *public_configs.CA_TYPES, *public_configs.DNS_TYPES)
PUBLIC_TYPES = (*public_configs.CA_TYPES, *public_configs.DNS_TYPES)
CA_PATCHABLE = {"max_ttl", "crl_expiry", "crl_disable", "crl_distribution_points_encoded", "issuing_certificates_urls_encoded"}
TEMPLATE_FIXED = {"name", "config_type", "certificate_authority"}
ACTIONS = {
    "private_cert_configuration_action_sign_intermediate": (CA_TYPES, private_ca.sign_intermediate),
    "private_cert_configuration_action_sign_csr": (CA_TYPES, private_ca.sign_csr),
    "private_cert_configuration_action_set_signed": ((INTERMEDIATE_CA,), private_ca.set_signed),
    "private_cert_configuration_action_revoke_ca_certificate": ((INTERMEDIATE_CA,), None),
    "private_cert_configuration_action_rotate_crl": (CA_TYPES, None),
    "private_cert_configuration_action_rotate_intermediate": ((INTERMEDIATE_CA,), None),
}


@dataclass(frozen=True, slots=True)
class ConfigView:
    config: ConfigRecord
    data: dict[str, Any] | None


def _unscoped(actor: Actor) -> None:
    if actor.groups is not None:
        raise Forbidden("configurations are instance-wide; a token limited to secret groups cannot change them")


def create_configuration(core: Core, actor: Actor, config_type: str, name: str, fields: dict[str, Any]) -> ConfigView:
    """Raises InvalidInput, NotFound (issuer or CA), Conflict (name taken), Forbidden."""
    _unscoped(actor)
    if config_type not in CONFIG_TYPES:
        raise reject("config_type", f"'{config_type}' is not one of {', '.join(CONFIG_TYPES)}")
    check_name(name)
    now = core.clock()
    with core.store.transaction() as tx:
        require_name_free(tx, name)
        if config_type == ROOT_CA:
            config = private_ca.create_root(tx, core, actor, name, fields)
        elif config_type == INTERMEDIATE_CA:
            config = private_ca.create_intermediate(tx, core, actor, name, fields)
        elif config_type in PUBLIC_TYPES:
            config = public_configs.create(tx, core, actor, config_type, name, fields)
        else:
            config = cert_templates.create_template(tx, core, actor, name, fields)
        audit.record(tx, actor, now, "configuration.create", f"configuration:{name}")
        stored = tx.get_config(name) or config
    return ConfigView(stored, private_ca.ca_data(stored))


SORTABLE = ("config_type", "secret_type", "name")


def list_configurations(
    core: Core, *, offset: int, limit: int, search: str | None, types: list[str] | None,
    secret_types: list[str] | None = None, sort: str | None = None,
) -> tuple[list[ConfigRecord], int]:
    """A page of configurations. ``types``: config types (a certkeeper extension);
    ``secret_types``: the contract's filter, by the secret type each configuration serves (a
    type with no configurations here, iam_credentials say, matches none); ``sort``: a field
    of SORTABLE, descending with a leading '-'."""
    for config_type in types or ():
        if config_type not in CONFIG_TYPES:
            raise reject("config_types", f"'{config_type}' is not a configuration type")
    if secret_types is not None:
        for secret_type in secret_types:
            if secret_type not in CONTRACT_SECRET_TYPES:
                raise reject("secret_types", f"'{secret_type}' is not a secret type")
        served = [t for t in CONFIG_TYPES if secret_type_of(t) in secret_types]
        types = [t for t in types if t in served] if types else served
        if not types:
            return [], 0
    field = (sort or "").removeprefix("-")
    if sort is not None and field not in SORTABLE:
        raise reject("sort", f"must be one of {', '.join(SORTABLE)}, with a leading '-' to sort descending")
    now = core.clock()
    with core.store.reader() as tx:
        rows, total = tx.list_configs(types=types, search=search, offset=offset, limit=limit,
                                      sort=field or None, descending=bool(sort and sort.startswith("-")))
    return [as_of(r, now) for r in rows], total


def secret_type_of(config_type: str) -> str:
    """The secret type a configuration serves, as the contract shows it."""
    return "public_cert" if config_type.startswith("public_cert") else "private_cert"


def get_configuration(core: Core, name: str, accept_type: str | None = None) -> ConfigView:
    with core.store.reader() as tx:
        config = tx.get_config(name)
    if config is None or (accept_type and config.config_type != accept_type):
        raise NotFound("configuration", name)
    return ConfigView(as_of(config, core.clock()), private_ca.ca_data(config))


def as_of(config: ConfigRecord, now: datetime) -> ConfigRecord:
    """The configuration as shown at ``now``: a usable CA whose certificate has passed its
    notAfter shows as expired. Computed on read, so no job has to flip the stored status."""
    expires = config.attributes.get("expiration_date")
    if config.status in USABLE and expires and datetime.fromisoformat(expires) <= now:
        return replace(config, status="expired")
    return config


def _locked(tx: Any, name: str) -> ConfigRecord:
    config = tx.get_config(name, for_update=True)
    if config is None:
        raise NotFound("configuration", name)
    return config


def update_configuration(core: Core, actor: Actor, name: str, patch: dict[str, Any]) -> ConfigView:
    """Patch the fields a configuration allows changing. Raises InvalidInput, NotFound."""
    _unscoped(actor)
    now = core.clock()
    with core.store.transaction() as tx:
        config = _locked(tx, name)
        if config.config_type in PUBLIC_TYPES:
            public_configs.update(tx, core, config, patch)
        elif config.config_type in CA_TYPES:
            unknown = sorted(set(patch) - CA_PATCHABLE)
            if unknown:
                raise reject(unknown[0], f"cannot be changed on a CA (patchable: {', '.join(sorted(CA_PATCHABLE))})")
            attrs = dict(config.attributes)
            merged = {**{k: attrs.get(k) for k in ("common_name",)}, "max_ttl": attrs["max_ttl_seconds"],
                      "crl_expiry": attrs["crl_expiry_seconds"]} | {k: v for k, v in patch.items() if v is not None}
            checked = private_ca.ca_attributes(
                {**attrs, **merged, "key_type": attrs["key_type"], "key_bits": attrs["key_bits"]}, root=False
            )
            for key in ("max_ttl_seconds", "crl_expiry_seconds", "crl_disable", "crl_distribution_points_encoded",
                        "issuing_certificates_urls_encoded"):
                attrs[key] = checked[key]
            tx.update_config(name, attributes=attrs, updated_at=now)
            if config.certificate and ("crl_disable" in patch or "crl_expiry" in patch):
                crls.rebuild(tx, core, name)
        else:
            fixed = sorted(set(patch) & TEMPLATE_FIXED)
            if fixed:
                raise reject(fixed[0], "cannot be changed on a certificate template")
            base = {k: v for k, v in config.attributes.items() if not k.endswith("_seconds")}
            for key in ("max_ttl", "ttl", "not_before_duration"):
                if f"{key}_seconds" in config.attributes:
                    base[key] = config.attributes[f"{key}_seconds"]
            attrs = cert_templates.template_attributes(patch, base=base)
            tx.update_config(name, attributes=attrs, updated_at=now)
        audit.record(tx, actor, now, "configuration.update", f"configuration:{name}")
        stored = tx.get_config(name)
    assert stored is not None
    return ConfigView(as_of(stored, now), private_ca.ca_data(stored))


def delete_configuration(core: Core, actor: Actor, name: str) -> None:
    """Raises NotFound, Conflict while templates, intermediates or secrets still use it."""
    _unscoped(actor)
    now = core.clock()
    with core.store.transaction() as tx:
        config = _locked(tx, name)
        if config.config_type in CA_TYPES:
            users = [c.name for c in tx.list_configs(types=[TEMPLATE, INTERMEDIATE_CA])[0]
                     if name in (c.attributes.get("certificate_authority"), c.attributes.get("issuer"))]
            if users:
                raise Conflict(f"certificate authority '{name}' is still used by {', '.join(sorted(users))}")
        elif config.config_type in PUBLIC_TYPES:
            key = "ca" if config.config_type in public_configs.CA_TYPES else "dns"
            count = tx.count_secrets_with_attribute("public_cert", key, name)
            if count:
                raise Conflict(f"configuration '{name}' is still used by {count} public certificate(s)")
        else:
            count = tx.count_secrets_with_attribute("private_cert", "certificate_template", name)
            if count:
                raise Conflict(f"certificate template '{name}' is still used by {count} private certificate(s)")
        tx.delete_config(name)
        audit.record(tx, actor, now, "configuration.delete", f"configuration:{name}")


def run_action(core: Core, actor: Actor, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Run a configuration action; returns the action's answer fields. Raises InvalidInput, NotFound, Conflict."""
    _unscoped(actor)
    action_type = fields.get("action_type")
    if action_type not in ACTIONS:
        raise InvalidInput(f"action_type: '{action_type}' is not one of {', '.join(ACTIONS)}", field="action_type")
    types, call = ACTIONS[action_type]
    now = core.clock()
    with core.store.transaction() as tx:
        config = tx.get_config(name)
        if config is None:
            raise NotFound("configuration", name)
        if config.config_type not in types:
            raise reject("action_type", f"{action_type} does not apply to a {config.config_type}")
        if action_type.endswith("rotate_crl"):
            get_ca_config(tx, name)
            crls.rebuild(tx, core, name)
            result: dict[str, Any] = {"success": True}
        elif action_type.endswith("revoke_ca_certificate"):
            result = private_ca.revoke_ca_certificate(tx, core, name)
        elif action_type.endswith("rotate_intermediate"):
            result = private_ca.rotate_intermediate(tx, core, name)
        else:
            assert call is not None
            result = call(tx, core, name, fields)
        audit.record(tx, actor, now, f"configuration.{action_type.rsplit('_action_', 1)[-1]}", f"configuration:{name}")
    if action_type.endswith(("sign_intermediate", "sign_csr")):
        # The contract's answer is the request with the signed certificate as `data`; the
        # certificate's fields also stay at the top, where certkeeper first put them.
        return {**fields, **result, "data": result}
    return {"action_type": action_type, **result}
