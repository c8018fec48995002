"""ACME orders (RFC 8555 section 7.4): create, show the DNS-01 challenges, answer, poll, finalize, download.

The certificate key and CSR come from `key_algorithm` (RSA2048 | RSA4096 | ECDSA256 |
ECDSA384). Polling uses a `Poller` (short growing interval, Retry-After) instead of the
library's fixed one-second sleeps. An `Order` serialises to JSON without its private key,
so an order survives a restart and `resume_order` picks it up in another process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from acme import challenges as acme_challenges
from acme import messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from requests.utils import parse_header_links

from acme_client.chains import IssuedCertificate, issued, select_chain
from acme_client.connection import AcmeConnection
from acme_client.errors import (AcmeConfigurationError, AcmeOrderError, acme_errors_as_order_errors,
                                from_authorizations, from_problem)
from acme_client.polling import Poller, parse_retry_after
from pki.keys import generate_key, load_private_key_pem, private_key_pem, signature_hash

MAX_NAMES = 100  # Let's Encrypt's limit of names per certificate, which the issue adopts
FORMAT = 1
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class KeyAlgorithm(StrEnum):
    RSA2048 = "RSA2048"
    RSA4096 = "RSA4096"
    ECDSA256 = "ECDSA256"
    ECDSA384 = "ECDSA384"


KEY_PARAMS = {KeyAlgorithm.RSA2048: ("rsa", 2048), KeyAlgorithm.RSA4096: ("rsa", 4096),
              KeyAlgorithm.ECDSA256: ("ec", 256), KeyAlgorithm.ECDSA384: ("ec", 384)}


@dataclass(frozen=True, slots=True)
class Challenge:
    """One authorization's DNS-01 challenge, as issuance_info shows it to a user."""

    domain: str  # as ordered: '*.example.com' for a wildcard
    txt_record_name: str  # '_acme-challenge.example.com' (wildcard and apex share it)
    txt_record_value: str
    status: str  # the authorization's: pending | valid | invalid | ...
    expiration: datetime | None
    authorization_url: str
    challenge_url: str


@dataclass(frozen=True, slots=True)
class Order:
    uri: str
    status: str  # pending | ready | processing | valid | invalid
    names: tuple[str, ...]
    key_algorithm: KeyAlgorithm
    challenges: tuple[Challenge, ...]
    resource: messages.OrderResource = field(repr=False)
    private_key_pem: str = field(repr=False)

    def to_json(self) -> str:
        """Everything needed to resume, except the private key (stored apart, encrypted)."""
        return json.dumps({
            "format": FORMAT, "key_algorithm": self.key_algorithm.value, "names": list(self.names),
            "resource": json.loads(self.resource.json_dumps()),
            "challenges": [_challenge_json(c) for c in self.challenges],
        })

    @classmethod
    def from_json(cls, text: str, private_key_pem: str) -> Order:
        """Raises AcmeConfigurationError for JSON that no `to_json` made."""
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError("format")
            resource = messages.OrderResource.from_json(data["resource"])
            found = tuple(Challenge(**{**c, "expiration": datetime.fromisoformat(c["expiration"]) if c["expiration"] else None})
                          for c in data["challenges"])
            return cls(uri=resource.uri, status=resource.body.status.name, names=tuple(data["names"]),
                       key_algorithm=KeyAlgorithm(data["key_algorithm"]), challenges=found, resource=resource,
                       private_key_pem=private_key_pem)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise AcmeConfigurationError("order: not a serialised ACME order") from None


def _challenge_json(c: Challenge) -> dict[str, object]:
    return {"domain": c.domain, "txt_record_name": c.txt_record_name, "txt_record_value": c.txt_record_value,
            "status": c.status, "expiration": c.expiration.isoformat() if c.expiration else None,
            "authorization_url": c.authorization_url, "challenge_url": c.challenge_url}


def order_names(common_name: str, alt_names: Iterable[str] = ()) -> tuple[str, ...]:
    """CN first, then alt names; lower case, de-duplicated, checked. Raises AcmeConfigurationError."""
    names = tuple(dict.fromkeys(n.strip().rstrip(".").lower() for n in (common_name, *alt_names) if n and n.strip()))
    if not names:
        raise AcmeConfigurationError("common_name: a DNS name is required")
    if len(names) > MAX_NAMES:
        raise AcmeConfigurationError(f"alt_names: at most {MAX_NAMES} names per certificate, got {len(names)}")
    for name in names:
        labels = name.removeprefix("*.").split(".")
        # RFC 3696 section 2: a top-level domain is never all digits (that would be an IP address).
        if len(name) > 253 or len(labels) < 2 or labels[-1].isdigit() or not all(_LABEL.match(x) for x in labels):
            raise AcmeConfigurationError(f"alt_names: '{name[:80]}' is not a DNS name (a wildcard only as '*.' first)")
    return names


def make_csr(names: Sequence[str], key_algorithm: str, private_key_pem_in: str | None = None) -> tuple[str, bytes]:
    """(private key PEM, CSR PEM) for names, with a new key or the one given (a renewal that keeps
    its key); the CN is the first name when it fits 64 characters (RFC 5280)."""
    try:
        algorithm = KeyAlgorithm(key_algorithm)
    except ValueError:
        raise AcmeConfigurationError(f"key_algorithm: '{key_algorithm}' is not one of {', '.join(KeyAlgorithm)}") from None
    key = load_private_key_pem(private_key_pem_in) if private_key_pem_in else generate_key(*KEY_PARAMS[algorithm])
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])] if len(names[0]) <= 64 else [])
    csr = (x509.CertificateSigningRequestBuilder().subject_name(subject)
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
           .sign(key, signature_hash(key)))
    return private_key_pem(key, "pkcs8"), csr.public_bytes(serialization.Encoding.PEM)


def new_order(conn: AcmeConnection, common_name: str, alt_names: Iterable[str] = (),
              key_algorithm: str = KeyAlgorithm.RSA2048, private_key_pem_in: str | None = None) -> Order:
    """Create an order with a new key (or ``private_key_pem_in``); the result lists each
    authorization's DNS-01 challenge.

    Raises AcmeConfigurationError for bad names or key_algorithm, AcmeOrderError when the CA refuses
    ('rejectedIdentifier', 'rateLimited', ...) or cannot be reached.
    """
    names = order_names(common_name, alt_names)
    key_pem, csr_pem = make_csr(names, key_algorithm, private_key_pem_in)
    with acme_errors_as_order_errors(f"new order for {', '.join(names)}"):
        resource = conn.client.new_order(csr_pem)
    return _order(conn, resource, names, KeyAlgorithm(key_algorithm), key_pem)


def refresh(conn: AcmeConnection, order: Order) -> Order:
    """Re-read the order and its authorizations from the CA (after a restart, or to show progress)."""
    with acme_errors_as_order_errors(f"read order {order.uri}"):
        body = messages.Order.from_json(conn.post_as_get(order.uri).json())
        authzrs = [_authorization(conn, url)[0] for url in body.authorizations]
    resource = order.resource.update(body=body, authorizations=authzrs)
    return _order(conn, resource, order.names, order.key_algorithm, order.private_key_pem)


def resume_order(conn: AcmeConnection, order_json: str, private_key_pem: str) -> Order:
    """An order from `Order.to_json()` (maybe made by another process), refreshed from the CA."""
    order = Order.from_json(order_json, private_key_pem)
    load_private_key_pem(private_key_pem)  # a wrong key would only fail at finalization
    return refresh(conn, order)


def answer(conn: AcmeConnection, order: Order) -> Order:
    """Tell the CA to validate every DNS-01 challenge still pending (the TXT records must be in place)."""
    for authzr in order.resource.authorizations:
        challb = _dns01(authzr)
        if authzr.body.status != messages.STATUS_PENDING or challb is None or challb.status != messages.STATUS_PENDING:
            continue  # already valid, failed, or answered before a restart: do not answer twice
        with acme_errors_as_order_errors(f"answer the dns-01 challenge for {authzr.body.identifier.value}"):
            conn.client.answer_challenge(challb, challb.chall.response(conn.key))
    return order


def wait_for_authorizations(conn: AcmeConnection, order: Order, poller: Poller) -> Order:
    """Poll until no authorization is pending. Raises AcmeOrderError ('unauthorized' with detail per name, 'timeout')."""
    latest = {a.uri: a for a in order.resource.authorizations}

    def fetch() -> tuple[dict[str, messages.AuthorizationResource], float | None]:
        waits = []
        for url, authzr in list(latest.items()):
            if authzr.body.status == messages.STATUS_PENDING:
                latest[url], retry_after = _authorization(conn, url)
                if retry_after is not None:
                    waits.append(retry_after)
        return latest, max(waits) if waits else None

    with acme_errors_as_order_errors(f"poll the authorizations of {order.uri}"):
        done = poller.until(
            fetch, lambda a: all(x.body.status != messages.STATUS_PENDING for x in a.values()),
            lambda a: "authorizations still pending for " + ", ".join(
                x.body.identifier.value for x in a.values() if x.body.status == messages.STATUS_PENDING))
    failed = [a for a in done.values() if a.body.status != messages.STATUS_VALID]
    if failed:
        raise from_authorizations(failed)
    return _order(conn, order.resource.update(authorizations=tuple(done.values())), order.names,
                  order.key_algorithm, order.private_key_pem)


def finalize(conn: AcmeConnection, order: Order, poller: Poller, preferred_chain: str | None = None) -> IssuedCertificate:
    """Send the CSR once the order is ready, poll until it is valid, download the preferred chain.

    Raises AcmeOrderError with the order's error when it becomes invalid, 'orderNotReady' while
    authorizations are pending, 'timeout' past the poller's deadline.
    """
    with acme_errors_as_order_errors(f"finalize order {order.uri}"):
        body, _ = _order_body(conn, order.uri)
        if body.status == messages.STATUS_PENDING:
            raise AcmeOrderError("orderNotReady", f"order {order.uri}: authorizations are still pending")
        if body.status == messages.STATUS_READY:
            csr = x509.load_pem_x509_csr(order.resource.csr_pem)
            conn.net.post(body.finalize, messages.CertificateRequest(csr=csr),
                          new_nonce_url=conn.client.directory["newNonce"])
        body = poller.until(lambda: _order_body(conn, order.uri),
                            lambda b: b.status in (messages.STATUS_VALID, messages.STATUS_INVALID),
                            lambda b: f"order {order.uri} still {b.status.name}")
        if body.status == messages.STATUS_INVALID or body.certificate is None:
            if body.error is not None:
                raise from_problem(body.error)
            raise from_authorizations(_authorization(conn, url)[0] for url in body.authorizations)
        response = conn.post_as_get(body.certificate)
        alternates = [link["url"] for link in parse_header_links(response.headers.get("Link", ""))
                      if link.get("rel") == "alternate" and link.get("url")]
        alternate_chains = [conn.post_as_get(url).text for url in alternates] if preferred_chain else []
    return issued(select_chain(response.text, alternate_chains, preferred_chain), order.private_key_pem)


def _order_body(conn: AcmeConnection, url: str) -> tuple[messages.Order, float | None]:
    response = conn.post_as_get(url)
    return messages.Order.from_json(response.json()), parse_retry_after(response.headers.get("Retry-After"))


def _authorization(conn: AcmeConnection, url: str) -> tuple[messages.AuthorizationResource, float | None]:
    response = conn.post_as_get(url)
    authzr = messages.AuthorizationResource(body=messages.Authorization.from_json(response.json()), uri=url)
    return authzr, parse_retry_after(response.headers.get("Retry-After"))


def _dns01(authzr: messages.AuthorizationResource) -> messages.ChallengeBody | None:
    return next((c for c in authzr.body.challenges if isinstance(c.chall, acme_challenges.DNS01)), None)


def _order(conn: AcmeConnection, resource: messages.OrderResource, names: tuple[str, ...],
           key_algorithm: KeyAlgorithm, key_pem: str) -> Order:
    found = []
    for authzr in resource.authorizations:
        body, challb = authzr.body, _dns01(authzr)
        domain = f"*.{body.identifier.value}" if body.wildcard else body.identifier.value
        if challb is None:
            if body.status == messages.STATUS_VALID:
                continue  # an authorization the CA reused, validated another way: nothing to publish
            raise AcmeOrderError("unsupportedChallenge", f"{domain}: the CA offers no dns-01 challenge")
        found.append(Challenge(
            domain=domain, txt_record_name=challb.chall.validation_domain_name(body.identifier.value),
            txt_record_value=challb.chall.validation(conn.key), status=body.status.name, expiration=body.expires,
            authorization_url=authzr.uri, challenge_url=challb.uri))
    return Order(uri=resource.uri, status=resource.body.status.name, names=names, key_algorithm=key_algorithm,
                 challenges=tuple(found), resource=resource, private_key_pem=key_pem)
