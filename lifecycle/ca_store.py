"""Loading and saving certificate authorities: the sealed private key, the certificate
and the chain of a CA configuration, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lifecycle.core import Core
from lifecycle.crypto import Sealed
from lifecycle.errors import Conflict, IntegrityFailure, InvalidInput, NotFound
from lifecycle.records import ConfigRecord, RetiredKeyRecord
from lifecycle.store import Tx
from pki.keys import PrivateKey, load_private_key_pem, private_key_pem

ROOT_CA = "private_cert_configuration_root_ca"
INTERMEDIATE_CA = "private_cert_configuration_intermediate_ca"
TEMPLATE = "private_cert_configuration_template"
CA_TYPES = (ROOT_CA, INTERMEDIATE_CA)
USABLE = ("configured", "certificate_template_required")


@dataclass(frozen=True, slots=True)
class OpenedCA:
    """A CA row's certificate, key and chain, parsed and unwrapped (kept in `Core.ca_cache`),
    with what every certificate it issues repeats: its PEM, its chain's PEMs, its subject."""

    certificate: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate]
    certificate_pem: str
    chain_pems: tuple[str, ...]  # this CA's certificate and its issuers, nearest first
    subject: str  # RFC 4514


def _opened(certificate: x509.Certificate, key: PrivateKey, chain: list[x509.Certificate]) -> OpenedCA:
    cert_pem = pem(certificate)
    return OpenedCA(certificate, key, chain, cert_pem, (cert_pem, *(pem(c) for c in chain)),
                    certificate.subject.rfc4514_string())


def key_binding(name: str) -> str:
    return f"configurations/{name}"


def seal_key(core: Core, name: str, key: PrivateKey) -> dict[str, object]:
    """Column values holding ``key`` sealed for the configuration ``name``."""
    return _seal(core, key, key_binding(name))


def open_key(core: Core, config: ConfigRecord) -> PrivateKey:
    if config.key_payload is None or config.key_wrapped is None or config.key_id is None:
        raise IntegrityFailure(f"configuration '{config.name}': private key is missing")
    return _open_sealed(core, Sealed(config.key_payload, config.key_wrapped, config.key_id), key_binding(config.name))


def _seal(core: Core, key: PrivateKey, binding: str) -> dict[str, object]:
    """The key_payload, key_wrapped and key_id columns (of a configuration or a retired key) for ``key``."""
    sealed = core.keyring.seal(private_key_pem(key, "pkcs8").encode(), binding)
    return {"key_payload": sealed.ciphertext, "key_wrapped": sealed.wrapped_key, "key_id": sealed.key_id}


def _open_sealed(core: Core, sealed: Sealed, binding: str) -> PrivateKey:
    # The key was generated here and its ciphertext is authenticated (AES-GCM, bound to this
    # row), so RSA's slow consistency check would only re-prove what the tag already proves.
    return load_private_key_pem(core.keyring.open(sealed, binding).decode(), trusted=True)


def retired_key_binding(name: str, generation: int) -> str:
    return f"configurations/{name}/keys/{generation}"


def retire_key(tx: Tx, core: Core, config: ConfigRecord) -> int:
    """Keep the CA's current key, certificate and CRL as its retired generation (before a new
    key replaces them in the configuration); returns the new key's generation. A key none of
    whose certificates is still valid is not kept: nothing it signed can be."""
    generation = key_generation(config.attributes)
    if config.certificate is None:  # never signed: it signed nothing
        return generation + 1
    cert = x509.load_pem_x509_certificate(config.certificate.encode())
    not_after = key_not_after(config.attributes, cert)
    now = core.clock()
    if not_after > now:
        tx.insert_retired_key(RetiredKeyRecord(
            ca_name=config.name, generation=generation, certificate=config.certificate, not_after=not_after,
            crl_der=config.crl_der, crl_number=config.crl_number, crl_next_update=config.crl_next_update,
            retired_at=now, **_seal(core, open_key(core, config), retired_key_binding(config.name, generation)),
        ))
    return generation + 1


def key_not_after(attributes: dict[str, object], cert: x509.Certificate) -> datetime:
    """When the last certificate the CA's current key held expires: ``cert`` (its current one)
    or one a re-signing replaced (`key_not_after`), whichever is later."""
    earlier = attributes.get("key_not_after")
    later = datetime.fromisoformat(str(earlier)) if earlier else cert.not_valid_after_utc
    return max(later, cert.not_valid_after_utc)


def open_retired_key(core: Core, key: RetiredKeyRecord) -> PrivateKey:
    return _open_sealed(core, Sealed(key.key_payload, key.key_wrapped, key.key_id),
                        retired_key_binding(key.ca_name, key.generation))


def served_generation(config: ConfigRecord, kept: set[int], generation: int | None, *,
                      bare: bool = False) -> int | None:
    """The key generation whose CRL and certificate answer for ``generation``: itself when it
    is the current one or among the ``kept`` retired ones (a certificate still valid), else None.
    Without one, the current key's; at the URLs without a generation (``bare``), which
    certificates from before key generations embed, the key the CA had then while it is kept."""
    current = key_generation(config.attributes)
    if generation is None:
        legacy = config.attributes.get("bare_urls_generation")
        return legacy if bare and legacy in kept else current  # type: ignore[return-value]
    return generation if generation == current or generation in kept else None


def key_holder(tx: Tx, config: ConfigRecord, generation: int | None, now: datetime, *,
               bare: bool = False) -> ConfigRecord | RetiredKeyRecord | None:
    """Where the CA keeps the key that answers for ``generation`` (see `served_generation`):
    the configuration (its current key), a retired key's row, or nowhere (None)."""
    kept: dict[int, RetiredKeyRecord] = {}
    if generation is not None or bare:  # else the answer is the current key: no need to look
        kept = {k.generation: k for k in tx.list_retired_keys(config.name) if k.not_after > now}
    served = served_generation(config, set(kept), generation, bare=bare)
    if served is None:
        return None
    return config if served == key_generation(config.attributes) else kept[served]


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def load_pems(text: str | None) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(text.encode()) if text else []


@dataclass(frozen=True, slots=True)
class LoadedCA:
    config: ConfigRecord
    certificate: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate]  # issuers above it, nearest first; empty for a root
    certificate_pem: str
    chain_pems: list[str]  # this CA's certificate and its issuers, as a `ca_chain` field lists them
    subject: str  # RFC 4514, as an `issuer` field shows it


def get_ca_config(tx: Tx, name: str, *, for_update: bool = False) -> ConfigRecord:
    config = tx.get_config(name, for_update=for_update)
    if config is None or config.config_type not in CA_TYPES:
        raise NotFound("certificate authority", name)
    return config


def load_ca(tx: Tx, core: Core, name: str, *, field: str = "certificate_authority", for_update: bool = False) -> LoadedCA:
    """A CA ready to sign. Raises NotFound, or Conflict when it is not signed, expired or revoked."""
    config = get_ca_config(tx, name, for_update=for_update)
    if config.status not in USABLE or config.certificate is None:
        raise Conflict(f"{field}: certificate authority '{name}' cannot sign while its status is {config.status}")
    key = (config.name, config.certificate, config.chain, config.key_id, config.key_wrapped, config.key_payload)
    opened = core.ca_cache.get(key)
    if opened is None:
        opened = _opened(x509.load_pem_x509_certificate(config.certificate.encode()), open_key(core, config),
                         load_pems(config.chain))
        core.ca_cache.put(key, opened)
    cert = opened.certificate
    if cert.not_valid_after_utc <= core.clock():
        raise Conflict(f"{field}: certificate authority '{name}' expired on {cert.not_valid_after_utc.isoformat()}")
    return LoadedCA(config, cert, opened.key, list(opened.chain), opened.certificate_pem, list(opened.chain_pems),
                    opened.subject)


def require_name_free(tx: Tx, name: str) -> None:
    if tx.get_config(name) is not None:
        raise Conflict(f"name: a configuration named '{name}' already exists", field="name")


def key_generation(attributes: dict[str, object]) -> int:
    """The generation of a CA's current key: 1 until `rotate_intermediate` replaces it."""
    return int(attributes.get("key_generation", 1))  # type: ignore[call-overload]


def crl_url(core: Core, name: str, generation: int | None = None) -> str:
    """The URL of the CRL signed by the CA's key ``generation`` (without one: its current key's,
    the URL certificates from before key generations embed)."""
    base = f"{core.public_url.rstrip('/')}/api/v2/pki/{name}/crl"
    return base if generation is None else f"{base}/{generation}"


def ca_url(core: Core, name: str, generation: int | None = None) -> str:
    """The URL of the CA's certificate for its key ``generation`` (as `crl_url`)."""
    base = f"{core.public_url.rstrip('/')}/api/v2/pki/{name}/ca"
    return base if generation is None else f"{base}/{generation}"


def distribution(core: Core, config_name: str, attributes: dict[str, object]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The CRL and CA URLs a CA asks to embed in what it signs: those of its current key, which
    stay with what it signed after a rotation gives the CA a new one."""
    generation = key_generation(attributes)
    crl = (crl_url(core, config_name, generation),) if attributes.get("crl_distribution_points_encoded") else ()
    issuers = (ca_url(core, config_name, generation),) if attributes.get("issuing_certificates_urls_encoded") else ()
    return crl, issuers


def reject(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", field=field)
