"""Public certificate engine configurations: ACME CAs (Let's Encrypt, or any RFC 8555 CA)
and DNS providers (IBM Cloud Internet Services). Credentials (account keys, EAB HMAC keys,
API keys) are sealed at rest like payloads and never shown again.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from acme_client.accounts import generate_account_key
from acme_client.connection import AcmeConnection
from dns_providers.cis import DEFAULT_SERVICE_URL, CisProvider
from lifecycle.ca_store import key_binding, reject
from lifecycle.core import Actor, Core
from lifecycle.crypto import Sealed
from lifecycle.errors import Conflict, InvalidInput, NotFound
from lifecycle.records import ConfigRecord
from lifecycle.store import Tx
from lifecycle.vocabulary import TaskKind
from pki.keys import load_private_key_pem

LETS_ENCRYPT = "public_cert_configuration_ca_lets_encrypt"
ACME_CA = "public_cert_configuration_ca_acme"
CIS = "public_cert_configuration_dns_cloud_internet_services"
CA_TYPES = (LETS_ENCRYPT, ACME_CA)
DNS_TYPES = (CIS,)
LETS_ENCRYPT_DIRECTORIES = {
    "production": "https://acme-v02.api.letsencrypt.org/directory",
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
PROPAGATION_TIMEOUT_S = 120.0  # how long an order waits for its TXT records to be visible


def _seal(core: Core, name: str, secrets: dict[str, Any]) -> dict[str, Any]:
    sealed = core.keyring.seal(json.dumps(secrets).encode(), key_binding(name))
    return {"key_payload": sealed.ciphertext, "key_wrapped": sealed.wrapped_key, "key_id": sealed.key_id}


def open_secrets(core: Core, config: ConfigRecord) -> dict[str, Any]:
    assert config.key_payload is not None and config.key_wrapped is not None and config.key_id is not None
    raw = core.keyring.open(Sealed(config.key_payload, config.key_wrapped, config.key_id), key_binding(config.name))
    return dict(json.loads(raw))


def _http_url(value: Any, field: str, wanted: str) -> str:
    """``value`` if it is an absolute http(s) URL with a host; else InvalidInput saying ``wanted``."""
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
        ok = (parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
              and parts.username is None and parts.password is None)  # credentials in a URL would be shown
    except ValueError:  # a port out of range, brackets that do not close
        ok = False
    if not ok or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise reject(field, wanted)
    return value


_RESOLVER = re.compile(r"(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?")


def _check_resolver(value: Any) -> None:
    """A DNS resolver as host, host:port, an IPv6 address or [IPv6]:port."""
    match: Any = None
    port = None
    if isinstance(value, str) and value.count(":") > 1 and not value.startswith("["):
        match = _ipv6(value)  # a bare IPv6 address: no port
    elif isinstance(value, str):
        match = _RESOLVER.fullmatch(value)
        if match and match.group("host").startswith("[") and not _ipv6(match.group("host")[1:-1]):
            match = None
        port = match.group("port") if match else None
    if not match or (port is not None and not 0 < int(port) < 65536):
        raise reject("resolvers", "each must be a host, host:port, an IPv6 address or [IPv6]:port")


def _ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _check_key(pem: str | None, field: str) -> str | None:
    if pem is None:
        return None
    try:
        load_private_key_pem(pem)
    except Exception as exc:  # noqa: BLE001 - any parse failure is bad input; the type only, never the key
        raise reject(field, f"not an unencrypted PEM private key ({type(exc).__name__})") from None
    return pem


def _settings(config_type: str, fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a configuration's fields: (attributes shown, credentials sealed). A missing
    account key is generated."""
    if config_type == LETS_ENCRYPT:
        env = fields.get("lets_encrypt_environment")
        if env not in LETS_ENCRYPT_DIRECTORIES:
            raise reject("lets_encrypt_environment", "must be production or staging")
        key = _check_key(fields.get("lets_encrypt_private_key"), "lets_encrypt_private_key") or generate_account_key()
        attrs = {"lets_encrypt_environment": env, "directory_url": LETS_ENCRYPT_DIRECTORIES[env],
                 "lets_encrypt_preferred_chain": fields.get("lets_encrypt_preferred_chain")}
        secret = {"account_key": key}
    elif config_type == ACME_CA:
        url = _http_url(fields.get("directory_url"), "directory_url", "an http(s) URL of the CA's ACME directory is required")
        bundle = fields.get("ca_bundle")
        if bundle is not None and "-----BEGIN CERTIFICATE-----" not in bundle:
            raise reject("ca_bundle", "not a PEM certificate bundle")
        if bool(fields.get("eab_key_id")) != bool(fields.get("eab_hmac_key")):
            raise reject("eab_key_id", "give eab_key_id and eab_hmac_key together")
        key = _check_key(fields.get("private_key"), "private_key") or generate_account_key()
        attrs = {"directory_url": url, "ca_bundle": bundle, "preferred_chain": fields.get("preferred_chain"),
                 "eab_key_id": fields.get("eab_key_id")}
        secret = {"account_key": key, "eab_hmac_key": fields.get("eab_hmac_key")}
    elif config_type == CIS:
        crn = fields.get("cloud_internet_services_crn")
        if not isinstance(crn, str) or not crn.startswith("crn:"):
            raise reject("cloud_internet_services_crn", "a CIS instance CRN ('crn:v1:...') is required")
        apikey = fields.get("cloud_internet_services_apikey")
        if not apikey:
            raise reject("cloud_internet_services_apikey", "an IAM API key is required")
        resolvers = fields.get("resolvers") or []
        for r in resolvers:
            _check_resolver(r)
        service_url = _http_url(fields.get("service_url") or DEFAULT_SERVICE_URL, "service_url",
                                "must be the http(s) URL of the CIS API")
        iam_url = fields.get("iam_url") and _http_url(fields["iam_url"], "iam_url", "must be the http(s) URL of IAM's token API")
        attrs = {"cloud_internet_services_crn": crn, "service_url": service_url, "iam_url": iam_url, "resolvers": resolvers}
        secret = {"apikey": apikey}
    else:
        raise reject("config_type", f"'{config_type}' is not a public certificate configuration type")
    return {k: v for k, v in attrs.items() if v is not None}, secret


def create(tx: Tx, core: Core, actor: Actor, config_type: str, name: str, fields: dict[str, Any]) -> ConfigRecord:
    """Validate and store a public CA or DNS configuration (inside the caller's transaction)."""
    now = core.clock()
    attrs, secret = _settings(config_type, fields)
    config = ConfigRecord(
        name=name, config_type=config_type, status=None, attributes=attrs,
        certificate=None, chain=None, csr=None, crl_der=None, crl_number=0, crl_next_update=None,
        created_by=actor.principal, created_at=now, updated_at=now, **_seal(core, name, secret),
    )
    tx.insert_config(config)
    return config


# Request field -> sealed credential, per type: what a patch may replace without showing it.
_SEALED_FIELDS = {
    LETS_ENCRYPT: {"lets_encrypt_private_key": "account_key"},
    ACME_CA: {"private_key": "account_key", "eab_hmac_key": "eab_hmac_key"},
    CIS: {"cloud_internet_services_apikey": "apikey"},
}
_REMOVABLE_SEALED = {"eab_hmac_key"}  # with eab_key_id; an account key or API key is only replaced


def update(tx: Tx, core: Core, config: ConfigRecord, patch: dict[str, Any]) -> None:
    """Apply a patch to a public CA or DNS configuration (locked by the caller's transaction).

    Fields left out keep their values; credentials given replace the sealed ones (sealed anew
    only when they change, since the sealed form keys the cached DNS client). The CA account
    registration is kept only while the directory and the account key stay the same: a new key
    or a new CA registers a new account at the next order."""
    if config.config_type == ACME_CA and ("eab_key_id" in patch) != ("eab_hmac_key" in patch):
        raise reject("eab_key_id", "give eab_key_id and eab_hmac_key together")
    sealed_fields = _SEALED_FIELDS[config.config_type]
    for field in sealed_fields.keys() - _REMOVABLE_SEALED:
        if field in patch and patch[field] is None:
            raise reject(field, "cannot be removed; give a new value or leave it out")
    if config.config_type == CIS and patch.get("cloud_internet_services_apikey") is None:
        for field in ("service_url", "iam_url"):
            if field in patch and patch[field] != config.attributes.get(field):
                # The API key goes to these URLs: a patch sending it elsewhere must come with it.
                raise reject("cloud_internet_services_apikey",
                             f"give the API key again to change {field}: the key is sent there")
    sealed = open_secrets(core, config)
    current = {k: v for k, v in config.attributes.items() if k != "account"}
    current |= {field: sealed.get(slot) for field, slot in sealed_fields.items()}
    attrs, secret = _settings(config.config_type, {k: v for k, v in (current | patch).items() if v is not None})
    same_account = (secret.get("account_key"), attrs.get("directory_url")) == (
        sealed.get("account_key"), config.attributes.get("directory_url"))
    if config.config_type in CA_TYPES and not same_account:
        pending = tx.count_active_tasks_of_secrets_with_attribute(TaskKind.PUBLIC_CERT_ORDER, "ca", config.name)
        if pending:
            raise Conflict(f"{pending} certificate order(s) placed through this configuration are not finished; they "
                           "belong to its current ACME account, so its key and CA cannot change until they end")
    known = config.attributes.get("account")
    if known is not None and same_account:
        attrs["account"] = known
    resealed = _seal(core, config.name, secret) if secret != sealed else {}  # the DNS client is kept while they stay
    tx.update_config(config.name, attributes=attrs, updated_at=core.clock(), **resealed)


@dataclass(frozen=True, slots=True)
class AcmeSettings:
    config: ConfigRecord
    directory_url: str
    account_key: str
    ca_bundle: str | None
    preferred_chain: str | None
    eab_key_id: str | None
    eab_hmac_key: str | None

    def connect(self) -> AcmeConnection:
        return AcmeConnection(self.directory_url, self.account_key, ca_bundle=self.ca_bundle)


def acme_settings(tx: Tx, core: Core, name: str) -> AcmeSettings:
    config = tx.get_config(name)
    if config is None or config.config_type not in CA_TYPES:
        raise NotFound("ACME CA configuration", name)
    secret = open_secrets(core, config)
    a = config.attributes
    return AcmeSettings(config, a["directory_url"], secret["account_key"], a.get("ca_bundle"),
                        a.get("preferred_chain") or a.get("lets_encrypt_preferred_chain"),
                        a.get("eab_key_id"), secret.get("eab_hmac_key"))


def dns_provider(tx: Tx, core: Core, name: str) -> CisProvider:
    config = tx.get_config(name)
    if config is None or config.config_type not in DNS_TYPES:
        raise NotFound("DNS provider configuration", name)
    a = config.attributes
    # Kept per process (IAM token, SDK clients, zone list) until the row changes.
    key = (config.name, json.dumps(a, sort_keys=True), config.key_id, config.key_wrapped, config.key_payload)
    provider = core.dns_providers.get(key)
    if provider is None:
        provider = CisProvider.from_apikey(a["cloud_internet_services_crn"], open_secrets(core, config)["apikey"],
                                           service_url=a["service_url"], iam_url=a.get("iam_url"),
                                           resolvers=a.get("resolvers") or None,
                                           propagation_timeout=PROPAGATION_TIMEOUT_S)
        core.dns_providers.put(key, provider)
    return provider


def require(tx: Tx, name: str, types: tuple[str, ...], field: str) -> ConfigRecord:
    config = tx.get_config(name)
    if config is None or config.config_type not in types:
        raise InvalidInput(f"{field}: no configuration named '{name}' of type {' or '.join(types)}", field=field)
    return config
