"""Every `pki` error becomes a 4xx with its own code and field, never a 500."""

from __future__ import annotations

import pytest

from api.errors import status_and_code
from lifecycle.errors import PayloadTooLarge, from_pki_error
from pki import errors as pki_errors


def _all(cls: type) -> list[type]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _all(sub))]


@pytest.mark.parametrize("cls", _all(pki_errors.PkiError), ids=lambda c: c.__name__)
def test_every_pki_error_maps_to_a_4xx_keeping_code_and_field(cls: type[pki_errors.PkiError]) -> None:
    error = from_pki_error(cls("certificate: is wrong", field="certificate"))
    status, _ = status_and_code(error)
    assert status == (413 if issubclass(cls, pki_errors.InputTooLarge) else 400)
    assert (error.code, error.field, error.message) == (cls.code, "certificate", "certificate: is wrong")


def test_prefix_nests_the_field_and_the_message() -> None:
    error = from_pki_error(pki_errors.InvalidRequest("key_bits: 1000 is not allowed", field="key_bits"), prefix="managed_csr")
    assert (error.field, error.message) == ("managed_csr.key_bits", "managed_csr.key_bits: 1000 is not allowed")
    bare = from_pki_error(pki_errors.InvalidRequest("private key: bad"), prefix="managed_csr")
    assert (bare.field, bare.message) == ("managed_csr", "private key: bad")


def test_size_cap_is_payload_too_large() -> None:
    assert isinstance(from_pki_error(pki_errors.InputTooLarge("x: too big", field="x")), PayloadTooLarge)
