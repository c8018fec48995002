from __future__ import annotations

import pytest

from lifecycle.crypto import Keyring, Sealed, key_id_of, new_root_key
from lifecycle.errors import IntegrityFailure


def test_sealed_value_opens_only_for_its_own_row() -> None:
    ring = Keyring.single(new_root_key())
    sealed = ring.seal(b"hunter2", "secret_versions/s1/v1")
    assert ring.open(sealed, "secret_versions/s1/v1") == b"hunter2"
    with pytest.raises(IntegrityFailure) as exc:
        ring.open(sealed, "secret_versions/s2/v9")
    assert "secret_versions/s2/v9" in str(exc.value)
    assert "hunter2" not in str(exc.value)


def test_ciphertext_does_not_contain_plaintext_and_differs_each_time() -> None:
    ring = Keyring.single(new_root_key())
    a = ring.seal(b"same plaintext value", "b")
    b = ring.seal(b"same plaintext value", "b")
    assert b"same plaintext" not in a.ciphertext
    assert a.ciphertext != b.ciphertext and a.wrapped_key != b.wrapped_key


def test_tampered_ciphertext_fails_authentication() -> None:
    ring = Keyring.single(new_root_key())
    sealed = ring.seal(b"value", "b")
    flipped = bytes([sealed.ciphertext[-1] ^ 1])
    with pytest.raises(IntegrityFailure):
        ring.open(Sealed(sealed.ciphertext[:-1] + flipped, sealed.wrapped_key, sealed.key_id), "b")


def test_rewrap_moves_data_key_to_active_root_key_without_touching_ciphertext() -> None:
    old, new = new_root_key(), new_root_key()
    sealed = Keyring.single(old).seal(b"value", "b")
    both = Keyring({key_id_of(old): old, key_id_of(new): new}, key_id_of(new))
    rewrapped = both.rewrap(sealed, "b")
    assert rewrapped.key_id == key_id_of(new)
    assert rewrapped.ciphertext == sealed.ciphertext
    assert Keyring.single(new).open(rewrapped, "b") == b"value"


def test_value_sealed_with_unknown_root_key_names_the_key() -> None:
    sealed = Keyring.single(new_root_key()).seal(b"value", "b")
    with pytest.raises(IntegrityFailure, match=sealed.key_id):
        Keyring.single(new_root_key()).open(sealed, "b")


def test_fingerprint_matches_same_data_only_and_hides_it() -> None:
    ring = Keyring.single(new_root_key())
    fp = ring.fingerprint(b"password123")
    assert ring.matches_fingerprint(fp, b"password123")
    assert not ring.matches_fingerprint(fp, b"password124")
    assert "password123" not in fp


def test_keyring_repr_shows_no_key_material() -> None:
    key = new_root_key()
    assert key.hex() not in repr(Keyring.single(key))
