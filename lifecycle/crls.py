"""Certificate revocation lists per CA: rebuilt on every revocation and whenever the
stored one is close to its nextUpdate, so the URL embedded in certificates always
serves a fresh, signed CRL."""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lifecycle.ca_store import get_ca_config, open_key
from lifecycle.core import Core
from lifecycle.errors import NotFound
from lifecycle.store import Tx
from pki.crl import build_crl

# Rebuild once less than this share of the CRL's lifetime is left, so a relying party
# that caches it until nextUpdate never holds an expired one.
REFRESH_FRACTION = 0.5


def rebuild(tx: Tx, core: Core, ca_name: str) -> bytes:
    """Sign a new CRL for ``ca_name`` (empty when the CA sets crl_disable) and store it."""
    config = get_ca_config(tx, ca_name, for_update=True)
    if config.certificate is None:
        raise NotFound("CRL of certificate authority", ca_name)
    now = core.clock()
    attrs = config.attributes
    revoked = [] if attrs.get("crl_disable") else [(int(r.serial, 16), r.revoked_at) for r in tx.list_revocations(ca_name)]
    expiry = timedelta(seconds=int(attrs.get("crl_expiry_seconds", 72 * 3600)))
    cert = x509.load_pem_x509_certificate(config.certificate.encode())
    number = config.crl_number + 1
    crl = build_crl(cert, open_key(core, config), revoked, now=now, expiry=expiry, number=number)
    der = crl.public_bytes(serialization.Encoding.DER)
    tx.update_config(ca_name, crl_der=der, crl_number=number, crl_next_update=now + expiry)
    return der


def current(core: Core, ca_name: str) -> bytes:
    """The CA's CRL in DER, rebuilt first when it is missing or due. Raises NotFound."""
    now = core.clock()
    with core.store.reader() as tx:
        config = get_ca_config(tx, ca_name)
        if config.certificate is None:
            raise NotFound("CRL of certificate authority", ca_name)
        if config.crl_der is not None and not _due(config.crl_next_update, config.attributes, now):
            return config.crl_der
    with core.store.transaction() as tx:
        return rebuild(tx, core, ca_name)


def _due(next_update: datetime | None, attrs: dict[str, object], now: datetime) -> bool:
    if next_update is None:
        return True
    lifetime = timedelta(seconds=int(attrs.get("crl_expiry_seconds", 72 * 3600)))  # type: ignore[call-overload]
    return now >= next_update - lifetime * REFRESH_FRACTION
