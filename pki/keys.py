"""Private keys: generation (RSA 2048/3072/4096, EC P-256/P-384), PEM in and out,
and the names the v2 contract uses for key and signature algorithms."""

from __future__ import annotations

from typing import Union

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from pki.errors import InvalidRequest, TemplateViolation

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]
PublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey]

RSA_BITS = (2048, 3072, 4096)
EC_BITS = {256: ec.SECP256R1, 384: ec.SECP384R1}
DEFAULT_BITS = {"rsa": 2048, "ec": 256}
NIST_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)  # what a client's EC key may be on
RSA_PUBLIC_EXPONENT = 65537


def check_key_params(key_type: str, key_bits: int | None, field: str = "key_type") -> tuple[str, int]:
    """Normalise (key_type, key_bits); raises InvalidRequest naming what is allowed."""
    key_type = (key_type or "rsa").lower()
    if key_type not in DEFAULT_BITS:
        raise InvalidRequest(f"{field}: '{key_type}' is not rsa or ec", field=field)
    bits = key_bits or DEFAULT_BITS[key_type]
    allowed = RSA_BITS if key_type == "rsa" else tuple(EC_BITS)
    if bits not in allowed:
        raise InvalidRequest(
            f"key_bits: {bits} is not allowed for {key_type} keys (allowed: {', '.join(map(str, allowed))})",
            field="key_bits",
        )
    return key_type, bits


def check_public_key(public_key: object, key_type: str, key_bits: int | None, field: str = "csr") -> None:
    """A client's key (a CSR's) against a template's key_type and key_bits: the same type, and
    at least as many bits (RSA under 2048 is never signed). Raises TemplateViolation naming both."""
    key_type, bits = check_key_params(key_type, key_bits)
    if isinstance(public_key, rsa.RSAPublicKey):
        given, size = "rsa", public_key.key_size
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        given, size = "ec", public_key.curve.key_size
        if not isinstance(public_key.curve, NIST_CURVES):  # secp256k1, brainpool...: not what a template means
            raise TemplateViolation(f"{field}: its key is on curve {public_key.curve.name}, not a NIST curve "
                                    "(P-256, P-384, P-521)", field=field)
    else:  # Ed25519...
        given, size = type(public_key).__name__, 0
    if given != key_type or size < bits:
        raise TemplateViolation(
            f"{field}: its key is {key_algorithm(public_key)}; the template asks for {key_type} of {bits} bits or more",
            field=field)


def generate_key(key_type: str, key_bits: int | None = None) -> PrivateKey:
    key_type, bits = check_key_params(key_type, key_bits)
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=bits)
    return ec.generate_private_key(EC_BITS[bits]())


def signature_hash(key: PrivateKey) -> hashes.HashAlgorithm:
    """SHA-384 for P-384 keys (matching strength), SHA-256 otherwise."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def key_algorithm(public_key: object) -> str:
    """'RSA2048', 'ECDSA256'... as the v2 contract names key algorithms."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"RSA{public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"ECDSA{public_key.curve.key_size}"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "ED25519"
    return type(public_key).__name__


def private_key_pem(key: PrivateKey, private_key_format: str = "der") -> str:
    """PEM of the key: 'der' gives the traditional PKCS#1 / SEC1 form, 'pkcs8' PKCS#8."""
    fmt = serialization.PrivateFormat.PKCS8 if private_key_format == "pkcs8" else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def load_private_key_pem(pem: str, *, trusted: bool = False) -> PrivateKey:
    """Parse an unencrypted PEM key. ``trusted`` skips RSA's consistency check (tens of ms per
    load): only for keys this service generated and kept under authenticated encryption."""
    key = serialization.load_pem_private_key(pem.encode(), password=None, unsafe_skip_rsa_key_validation=trusted)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise InvalidRequest("private key: only RSA and EC keys are supported")
    return key


def public_keys_equal(a: object, b: object) -> bool:
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_bytes(serialization.Encoding.DER, fmt) == b.public_bytes(serialization.Encoding.DER, fmt)  # type: ignore[attr-defined]
