"""ACME accounts: make an account key, register it (or find the account it already has), reuse it.

An account serialises to JSON (directory URL, account URL, the registration as the CA
returned it; never the key) so another process can use it without registering again.
External account binding (RFC 8555 section 7.3.4) takes `eab_key_id` and `eab_hmac_key`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import josepy as jose
from acme import errors as acme_errors
from acme import messages

from acme_client.connection import AcmeConnection
from acme_client.errors import AcmeConfigurationError, AcmeOrderError, acme_errors_as_order_errors
from pki.keys import generate_key, private_key_pem

ACCOUNT_KEY_ALGORITHMS = {"ECDSA256": ("ec", 256), "ECDSA384": ("ec", 384), "RSA2048": ("rsa", 2048),
                          "RSA4096": ("rsa", 4096)}
FORMAT = 1


def generate_account_key(key_algorithm: str = "ECDSA256") -> str:
    """A new account key as PEM; P-256 by default (small JWS, and every CA takes ES256)."""
    params = ACCOUNT_KEY_ALGORITHMS.get(key_algorithm)
    if params is None:
        raise AcmeConfigurationError(f"key_algorithm: '{key_algorithm}' is not one of {', '.join(ACCOUNT_KEY_ALGORITHMS)}")
    return private_key_pem(generate_key(*params), "pkcs8")


@dataclass(frozen=True, slots=True)
class AcmeAccount:
    """A registered account at one CA; holds no key material."""

    directory_url: str
    uri: str
    registration_json: str  # acme RegistrationResource JSON

    @property
    def status(self) -> str | None:
        body = json.loads(self.registration_json).get("body", {})
        return body.get("status")

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "directory_url": self.directory_url, "uri": self.uri,
                           "registration": json.loads(self.registration_json)})

    @classmethod
    def from_json(cls, text: str) -> AcmeAccount:
        """Raises AcmeConfigurationError for JSON that no `to_json` made."""
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError("format")
            return cls(str(data["directory_url"]), str(data["uri"]), json.dumps(data["registration"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise AcmeConfigurationError("account: not a serialised ACME account") from None

    def _resource(self) -> messages.RegistrationResource:
        return messages.RegistrationResource.json_loads(self.registration_json)


def register_account(conn: AcmeConnection, *, email: str | None = None, eab_key_id: str | None = None,
                     eab_hmac_key: str | None = None, agree_to_terms: bool = True) -> AcmeAccount:
    """Register conn's key, or find its existing account (ConflictError.location); the connection then uses it.

    Raises AcmeConfigurationError when the CA requires external account binding and none is
    given (or only half of it), AcmeOrderError when the CA refuses ('unauthorized', 'malformed', ...).
    """
    if bool(eab_key_id) != bool(eab_hmac_key):
        raise AcmeConfigurationError("eab_key_id and eab_hmac_key: give both or neither")
    if not eab_key_id and conn.client.external_account_required():
        raise AcmeConfigurationError(f"eab_key_id: the CA at {conn.directory_url} requires external account binding")
    binding = None
    if eab_key_id and eab_hmac_key:
        try:
            binding = messages.ExternalAccountBinding.from_data(
                account_public_key=conn.key.public_key(), kid=eab_key_id, hmac_key=eab_hmac_key, directory=conn.directory)
        except (ValueError, jose.DeserializationError, TypeError):
            raise AcmeConfigurationError("eab_hmac_key: not a base64url-encoded HMAC key") from None
    registration = messages.NewRegistration.from_data(
        email=email, terms_of_service_agreed=agree_to_terms, external_account_binding=binding)
    conn.net.account = None  # newAccount is signed with the key itself (jwk), never a kid (RFC 8555 6.2)
    with acme_errors_as_order_errors(f"register an account at {conn.directory_url}"):
        try:
            regr = conn.client.new_account(registration)
        except acme_errors.ConflictError as conflict:
            # The key already has an account: ask for it (onlyReturnExisting) instead of a new one.
            existing = messages.RegistrationResource(uri=conflict.location, body=messages.Registration())
            regr = conn.client.query_registration(existing)
    return _account(conn, regr)


def use_account(conn: AcmeConnection, account: AcmeAccount) -> None:
    """Sign conn's requests as account (no request is made). Raises AcmeConfigurationError for another CA."""
    if account.directory_url != conn.directory_url:
        raise AcmeConfigurationError(
            f"account: registered at {account.directory_url}, not at {conn.directory_url}")
    conn.net.account = account._resource()


def ensure_account(conn: AcmeConnection, account: AcmeAccount | None = None, *, email: str | None = None,
                   eab_key_id: str | None = None, eab_hmac_key: str | None = None) -> AcmeAccount:
    """Reuse account when it belongs to conn's CA, else register (or find) one. Raises as register_account."""
    if account is not None and account.directory_url == conn.directory_url:
        use_account(conn, account)
        return account
    return register_account(conn, email=email, eab_key_id=eab_key_id, eab_hmac_key=eab_hmac_key)


def _account(conn: AcmeConnection, regr: messages.RegistrationResource) -> AcmeAccount:
    if not regr.uri:
        raise AcmeOrderError("malformed", f"{conn.directory_url}: the CA returned an account without a URL")
    # A CA may echo the binding JWS, which josepy cannot serialise back; it is of no use once registered.
    regr = regr.update(body=regr.body.update(external_account_binding=None))
    conn.net.account = regr
    return AcmeAccount(conn.directory_url, regr.uri, regr.json_dumps())
