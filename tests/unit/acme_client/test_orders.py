"""Order inputs without a CA: names, key algorithms and CSRs, account keys and their JWS algorithms."""

from __future__ import annotations

import josepy as jose
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from acme_client.accounts import AcmeAccount, generate_account_key
from acme_client.connection import account_jwk
from acme_client.errors import AcmeConfigurationError
from acme_client.orders import MAX_NAMES, make_csr, order_names
from pki.keys import generate_key, load_private_key_pem, private_key_pem


def test_names_are_common_name_first_lower_case_and_unique() -> None:
    assert order_names("Example.COM.", ["www.example.com", "example.com", "*.example.com"]) == (
        "example.com", "www.example.com", "*.example.com")


@pytest.mark.parametrize("bad", ["localhost", "a..example.com", "*.*.example.com", "www.*.example.com",
                                 "-a.example.com", "ex ample.com", "192.0.2.1.", "a" * 64 + ".com"])
def test_names_that_are_not_dns_names_are_refused(bad: str) -> None:
    with pytest.raises(AcmeConfigurationError, match="not a DNS name"):
        order_names("example.com", [bad])


def test_at_most_100_names() -> None:
    with pytest.raises(AcmeConfigurationError, match=f"at most {MAX_NAMES}"):
        order_names("example.com", [f"n{i}.example.com" for i in range(MAX_NAMES)])


@pytest.mark.parametrize(("algorithm", "kind", "bits"), [
    ("RSA2048", rsa.RSAPrivateKey, 2048), ("RSA4096", rsa.RSAPrivateKey, 4096),
    ("ECDSA256", ec.EllipticCurvePrivateKey, 256), ("ECDSA384", ec.EllipticCurvePrivateKey, 384),
])
def test_csr_key_follows_key_algorithm(algorithm: str, kind: type, bits: int) -> None:
    key_pem, csr_pem = make_csr(("example.com", "*.example.com"), algorithm)
    key = load_private_key_pem(key_pem)
    assert isinstance(key, kind)
    assert (key.key_size if isinstance(key, rsa.RSAPrivateKey) else key.curve.key_size) == bits
    csr = x509.load_pem_x509_csr(csr_pem)
    assert csr.is_signature_valid
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sans == ["example.com", "*.example.com"]


def test_unknown_key_algorithm_is_refused_by_name() -> None:
    with pytest.raises(AcmeConfigurationError, match="key_algorithm: 'DSA1024'"):
        make_csr(("example.com",), "DSA1024")


@pytest.mark.parametrize(("algorithm", "alg"), [("ECDSA256", jose.ES256), ("ECDSA384", jose.ES384),
                                                ("RSA2048", jose.RS256)])
def test_account_keys_sign_with_their_own_jws_algorithm(algorithm: str, alg: jose.JWASignature) -> None:
    _, chosen = account_jwk(generate_account_key(algorithm))
    assert chosen is alg


def test_unusable_account_keys_are_refused() -> None:
    with pytest.raises(AcmeConfigurationError, match="private_key"):
        account_jwk("not a key")
    with pytest.raises(AcmeConfigurationError, match="P-256 or P-384"):
        account_jwk(private_key_pem(ec.generate_private_key(ec.SECP521R1())))
    with pytest.raises(AcmeConfigurationError, match="2048"):
        account_jwk(private_key_pem(rsa.generate_private_key(65537, 1024)))
    assert generate_key("ec", 256)  # the default account key type is one pki makes


def test_account_json_round_trips_and_refuses_foreign_json() -> None:
    account = AcmeAccount("https://ca.test/dir", "https://ca.test/acct/1", '{"body": {"status": "valid"}}')
    assert AcmeAccount.from_json(account.to_json()) == account
    assert account.status == "valid"
    with pytest.raises(AcmeConfigurationError):
        AcmeAccount.from_json('{"uri": "x"}')
