"""Envelope encryption at rest: AES-256-GCM data keys wrapped by a root key.

Each sealed value gets its own 256-bit data key. The value is encrypted under the
data key, the data key under the active root key; both use associated data that
binds them to their row (e.g. ``secret_versions/<secret id>/<version id>``), so a
ciphertext copied to another row fails to open instead of revealing its plaintext.
Root keys carry a key id so they can be rotated by rewrapping data keys only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lifecycle.errors import IntegrityFailure

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; random nonces are safe with one key per value
_FORMAT = b"ck1"


def new_root_key() -> bytes:
    return os.urandom(KEY_BYTES)


def key_id_of(root_key: bytes) -> str:
    """A short public id of a root key: enough to pick the key, useless to guess it."""
    return hashlib.sha256(b"certkeeper key id\x00" + root_key).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed value as stored: ciphertext, wrapped data key and the root key's id."""

    ciphertext: bytes
    wrapped_key: bytes
    key_id: str


class Keyring:
    """Root keys by id; one is active for new seals, all open what they wrapped."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if active not in keys:
            raise ValueError(f"active root key '{active}' is not in the keyring")
        for kid, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"root key '{kid}' must be {KEY_BYTES} bytes")
        self._keys = dict(keys)
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}  # set up once: each was ~8 us
        self.active_id = active

    @classmethod
    def single(cls, root_key: bytes) -> Keyring:
        kid = key_id_of(root_key)
        return cls({kid: root_key}, kid)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def __repr__(self) -> str:  # never show key material
        return f"Keyring(active={self.active_id!r}, keys={sorted(self._keys)!r})"

    def _root(self, key_id: str, binding: str) -> AESGCM:
        try:
            return self._ciphers[key_id]
        except KeyError:
            raise IntegrityFailure(
                f"{binding}: sealed with root key '{key_id}', which is not in the keyring"
            ) from None

    def seal(self, plaintext: bytes, binding: str) -> Sealed:
        """Encrypt ``plaintext`` for the row named by ``binding``."""
        data_key = os.urandom(KEY_BYTES)
        aad = _FORMAT + b"\x00" + binding.encode()
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)
        return Sealed(ciphertext, self._wrap(data_key, self.active_id, binding), self.active_id)

    def open(self, sealed: Sealed, binding: str) -> bytes:
        """Decrypt a value sealed for ``binding``; raises IntegrityFailure otherwise."""
        data_key = self._unwrap(sealed, binding)
        aad = _FORMAT + b"\x00" + binding.encode()
        nonce, body = sealed.ciphertext[:NONCE_BYTES], sealed.ciphertext[NONCE_BYTES:]
        try:
            return AESGCM(data_key).decrypt(nonce, body, aad)
        except InvalidTag:
            raise IntegrityFailure(
                f"{binding}: stored ciphertext failed authentication "
                "(tampered with or copied from another row)"
            ) from None

    def rewrap(self, sealed: Sealed, binding: str) -> Sealed:
        """Re-wrap the data key under the active root key; the ciphertext is unchanged."""
        if sealed.key_id == self.active_id:
            return sealed
        data_key = self._unwrap(sealed, binding)
        return Sealed(sealed.ciphertext, self._wrap(data_key, self.active_id, binding), self.active_id)

    def _wrap(self, data_key: bytes, key_id: str, binding: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        aad = _FORMAT + b"\x00wrap\x00" + key_id.encode() + b"\x00" + binding.encode()
        return nonce + self._root(key_id, binding).encrypt(nonce, data_key, aad)

    def _unwrap(self, sealed: Sealed, binding: str) -> bytes:
        aad = _FORMAT + b"\x00wrap\x00" + sealed.key_id.encode() + b"\x00" + binding.encode()
        nonce, body = sealed.wrapped_key[:NONCE_BYTES], sealed.wrapped_key[NONCE_BYTES:]
        try:
            return self._root(sealed.key_id, binding).decrypt(nonce, body, aad)
        except InvalidTag:
            raise IntegrityFailure(
                f"{binding}: data key failed authentication "
                "(tampered with or copied from another row)"
            ) from None

    def fingerprint(self, data: bytes) -> str:
        """A keyed digest of request data (for idempotency checks) that reveals nothing of it.

        A plain hash of a low-entropy password could be brute-forced from a database
        copy; an HMAC under a key derived from the root key cannot.
        """
        return f"{self.active_id}:{self._fingerprint(self.active_id, data)}"

    def matches_fingerprint(self, fingerprint: str, data: bytes) -> bool:
        key_id, _, digest = fingerprint.partition(":")
        if key_id not in self._keys:
            return False
        return hmac.compare_digest(digest, self._fingerprint(key_id, data))

    def _fingerprint(self, key_id: str, data: bytes) -> str:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"certkeeper fingerprint")
        return hmac.new(hkdf.derive(self._keys[key_id]), data, hashlib.sha256).hexdigest()


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode()


def decode_key(text: str, *, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise ValueError(f"{source}: root key is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"{source}: root key must be {KEY_BYTES} bytes, got {len(key)}")
    return key
