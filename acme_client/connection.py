"""One ACME client session: the account key as a JWK with its JWS algorithm, TLS trust, the directory.

`AcmeConnection` wraps the `acme` library's ClientNetwork and ClientV2. An EC account key
needs its own JWS algorithm (ES256 for P-256): the library's default RS256 fails with a bare
AssertionError at the first request. A `ca_bundle` PEM is written to a private temporary file
for `requests`, and removed on close.
"""

from __future__ import annotations

import os
import tempfile
from types import TracebackType

import josepy as jose
import requests
from acme import client as acme_client_lib
from acme import messages
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from acme_client.errors import AcmeConfigurationError, acme_errors_as_order_errors
from pki.errors import PkiError
from pki.keys import load_private_key_pem

USER_AGENT = "certkeeper (acme-python)"
NETWORK_TIMEOUT_S = 30  # one HTTP request to the CA; polling has its own, longer deadline
EC_ALGORITHMS = {256: jose.ES256, 384: jose.ES384}


def account_jwk(account_key_pem: str) -> tuple[jose.JWK, jose.JWASignature]:
    """The account key as a JWK and the JWS algorithm it signs with. Raises AcmeConfigurationError."""
    try:
        key = load_private_key_pem(account_key_pem)
    except (PkiError, ValueError, TypeError):
        raise AcmeConfigurationError("private_key: the ACME account key is not an unencrypted RSA or EC PEM key") from None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = EC_ALGORITHMS.get(key.curve.key_size)
        if alg is None:
            raise AcmeConfigurationError(f"private_key: EC account keys must be P-256 or P-384, not {key.curve.name}")
        return jose.JWKEC(key=key), alg
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise AcmeConfigurationError("private_key: RSA account keys must have at least 2048 bits")
        return jose.JWKRSA(key=key), jose.RS256
    raise AcmeConfigurationError("private_key: only RSA and EC account keys are supported")


class AcmeConnection:
    """A session with one ACME CA under one account key; use as a context manager.

    Raises AcmeOrderError ('connection_error', ...) when the directory cannot be fetched.
    """

    def __init__(self, directory_url: str, account_key_pem: str, *, ca_bundle: str | None = None,
                 timeout: int = NETWORK_TIMEOUT_S, user_agent: str = USER_AGENT) -> None:
        if not directory_url.startswith(("https://", "http://")):
            raise AcmeConfigurationError(f"directory_url: '{directory_url}' is not an http(s) URL")
        self.directory_url = directory_url
        self.key, self.alg = account_jwk(account_key_pem)
        self._bundle_path: str | None = None
        verify: bool | str = True
        if ca_bundle:
            if "-----BEGIN CERTIFICATE-----" not in ca_bundle:
                raise AcmeConfigurationError("ca_bundle: not a PEM certificate bundle")
            fd, self._bundle_path = tempfile.mkstemp(prefix="certkeeper-acme-ca-", suffix=".pem")
            with os.fdopen(fd, "w") as f:
                f.write(ca_bundle)
            verify = self._bundle_path
        self.net = acme_client_lib.ClientNetwork(self.key, alg=self.alg, verify_ssl=verify,  # type: ignore[arg-type]
                                                 user_agent=user_agent, timeout=timeout)
        try:
            with acme_errors_as_order_errors(f"GET {directory_url}"):
                directory = acme_client_lib.ClientV2.get_directory(directory_url, self.net)
        except BaseException:
            self.close()
            raise
        self.client = acme_client_lib.ClientV2(directory, self.net)

    @property
    def directory(self) -> messages.Directory:
        return self.client.directory

    @property
    def account_uri(self) -> str | None:
        return self.net.account.uri if self.net.account is not None else None

    def post_as_get(self, url: str) -> requests.Response:
        """RFC 8555 section 6.3 POST-as-GET under the account (the response keeps its headers)."""
        return self.net.post(url, None, new_nonce_url=self.client.directory["newNonce"])

    def close(self) -> None:
        self.net.session.close()
        if self._bundle_path:
            try:
                os.unlink(self._bundle_path)
            except FileNotFoundError:
                pass
            self._bundle_path = None

    def __enter__(self) -> AcmeConnection:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
