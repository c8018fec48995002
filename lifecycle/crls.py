"""Certificate revocation lists per CA: rebuilt on every revocation and whenever the
stored one is close to its nextUpdate, so the URL embedded in certificates always
serves a fresh, signed CRL.

A CA whose key `rotate_intermediate` replaced has a CRL per key generation: the old
key, kept while its certificate can be valid, signs one for what it issued (RFC 5280
has a CRL verified with the key that signed the certificate it covers; OpenSSL's
default checks need exactly that). Every generation's CRL lists all the CA's
revocations: serials are random, so the others' serials only ever match nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lifecycle.ca_store import get_ca_config, key_generation, key_holder, open_key, open_retired_key, served_generation
from lifecycle.core import Core
from lifecycle.errors import NotFound
from lifecycle.records import ConfigRecord
from lifecycle.store import Tx
from pki.crl import build_crl

# Rebuild once less than this share of the CRL's lifetime is left, so a relying party
# that caches it until nextUpdate never holds an expired one.
REFRESH_FRACTION = 0.5


def rebuild(tx: Tx, core: Core, ca_name: str) -> bytes:
    """Sign new CRLs for ``ca_name`` (empty when the CA sets crl_disable), its current key's
    and each kept retired key's, and store them; returns the current key's (DER). Retired
    keys none of whose certificates is still valid are dropped."""
    config, built = _rebuild(tx, core, ca_name)
    return built[key_generation(config.attributes)]


def current(core: Core, ca_name: str, generation: int | None = None, *, bare: bool = False) -> bytes:
    """The CRL (DER) signed by the CA's key ``generation`` (without one: its current key, or
    at the URL without a generation (``bare``) the key `served_generation` names), rebuilt
    first when it is missing or due. Raises NotFound."""
    now = core.clock()
    with core.store.reader() as tx:
        config = get_ca_config(tx, ca_name)
        if config.certificate is None:
            raise NotFound("CRL of certificate authority", ca_name)
        holder = key_holder(tx, config, generation, now, bare=bare)
        if holder is not None and holder.crl_der is not None and not _due(holder.crl_next_update, config.attributes, now):
            return holder.crl_der
    # Due, missing, or read while a rotation was committing: decided again under the CA's lock.
    with core.store.transaction() as tx:
        config, built = _rebuild(tx, core, ca_name)
    served = served_generation(config, set(built), generation, bare=bare)  # built: the keys still kept
    if served is None:
        raise NotFound(f"CRL of key generation {generation} of certificate authority", ca_name)
    return built[served]


def _rebuild(tx: Tx, core: Core, ca_name: str) -> tuple[ConfigRecord, dict[int, bytes]]:
    """The CA's configuration as locked, and every kept key's new CRL by generation."""
    config = get_ca_config(tx, ca_name, for_update=True)
    if config.certificate is None:
        raise NotFound("CRL of certificate authority", ca_name)
    now = core.clock()
    attrs = config.attributes
    revoked = [] if attrs.get("crl_disable") else [(int(r.serial, 16), r.revoked_at) for r in tx.list_revocations(ca_name)]
    expiry = timedelta(seconds=int(attrs.get("crl_expiry_seconds", 72 * 3600)))
    number = config.crl_number + 1
    cert = x509.load_pem_x509_certificate(config.certificate.encode())
    der = _der(build_crl(cert, open_key(core, config), revoked, now=now, expiry=expiry, number=number))
    tx.update_config(ca_name, crl_der=der, crl_number=number, crl_next_update=now + expiry)
    built = {key_generation(attrs): der}
    for key in tx.list_retired_keys(ca_name, for_update=True):
        if key.not_after <= now:
            tx.delete_retired_key(ca_name, key.generation)
            continue
        old = x509.load_pem_x509_certificate(key.certificate.encode())
        built[key.generation] = _der(build_crl(old, open_retired_key(core, key), revoked, now=now, expiry=expiry,
                                               number=key.crl_number + 1))
        tx.update_retired_key(ca_name, key.generation, crl_der=built[key.generation], crl_number=key.crl_number + 1,
                              crl_next_update=now + expiry)
    return config, built


def _der(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)


def _due(next_update: datetime | None, attrs: dict[str, object], now: datetime) -> bool:
    if next_update is None:
        return True
    lifetime = timedelta(seconds=int(attrs.get("crl_expiry_seconds", 72 * 3600)))  # type: ignore[call-overload]
    return now >= next_update - lifetime * REFRESH_FRACTION
