"""Every error class has a row in the HTTP table (or inherits a deliberate one)."""

from __future__ import annotations

from api.errors import ERROR_TABLE, status_and_code
from lifecycle import errors as e


def _all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _all_subclasses(sub)
    return out


def test_every_error_class_is_in_the_table() -> None:
    missing = sorted(c.__name__ for c in _all_subclasses(e.CertkeeperError) if c not in ERROR_TABLE)
    assert not missing, f"add these to api/errors.py ERROR_TABLE: {missing}"


def test_input_errors_are_4xx_and_codes_are_unique_per_status() -> None:
    assert status_and_code(e.InvalidInput("x"))[0] == 400
    assert status_and_code(e.PayloadTooLarge("x"))[0] == 413
    assert status_and_code(e.Locked("x"))[0] == 412
    assert status_and_code(e.NotFound("secret", "1"))[0] == 404
    codes = [code for cls, (status, code) in ERROR_TABLE.items() if status < 500]
    assert len(codes) == len(set(codes))
