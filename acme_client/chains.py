"""Certificate chains from an ACME CA: split a fullchain, and pick the preferred one among alternates.

RFC 8555 section 7.4.2: a CA may offer alternate chains (Link rel="alternate"), e.g. one up
to an older cross-signed root. The preferred chain is named by the issuer common name of its
topmost certificate, as certbot's and lego's `preferred_chain` do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import NameOID

from acme_client.errors import AcmeOrderError

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """The leaf, the rest of the chosen chain (intermediates, leaf's issuer first) and the private key."""

    certificate: str
    intermediate: str
    private_key: str = field(repr=False)
    chain_issuer: str | None = None  # issuer CN of the chain's topmost certificate (the root it leads to)

    @property
    def fullchain(self) -> str:
        return self.certificate + self.intermediate


def split_chain(fullchain_pem: str) -> list[str]:
    """The PEM certificates of a chain in order, each ending in a newline. Raises AcmeOrderError when empty."""
    certs = [m.group(0) + "\n" for m in _PEM_CERT.finditer(fullchain_pem)]
    if not certs:
        raise AcmeOrderError("malformed", "the CA's certificate download holds no PEM certificate")
    return certs


def _issuer_cn(pem: str) -> str | None:
    cert = x509.load_pem_x509_certificate(pem.encode())
    values = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def top_issuer(fullchain_pem: str) -> str | None:
    """Issuer CN of the chain's last certificate."""
    return _issuer_cn(split_chain(fullchain_pem)[-1])


def select_chain(default: str, alternates: Sequence[str], preferred_issuer: str | None) -> str:
    """The first chain whose topmost issuer CN is preferred_issuer, else one with any such issuer, else default."""
    if not preferred_issuer:
        return default
    chains = [default, *alternates]
    for chain in chains:
        if top_issuer(chain) == preferred_issuer:
            return chain
    for chain in chains:
        if any(_issuer_cn(pem) == preferred_issuer for pem in split_chain(chain)):
            return chain
    return default


def issued(fullchain_pem: str, private_key_pem: str) -> IssuedCertificate:
    certs = split_chain(fullchain_pem)
    return IssuedCertificate(certificate=certs[0], intermediate="".join(certs[1:]), private_key=private_key_pem,
                             chain_issuer=_issuer_cn(certs[-1]))
