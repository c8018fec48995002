"""Random passwords from `secrets`, with a policy of length and character classes."""

from __future__ import annotations

import secrets
import string
from dataclasses import asdict, dataclass
from typing import Any

from lifecycle.errors import InvalidInput

MIN_LENGTH, MAX_LENGTH, DEFAULT_LENGTH = 12, 256, 32
SYMBOLS = "!@#$%^&*()-_=+[]{}:;,.?~"


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    length: int = DEFAULT_LENGTH
    include_digits: bool = True
    include_symbols: bool = True
    include_uppercase: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, base: PasswordPolicy | None = None) -> PasswordPolicy:
        """Build a policy from wire fields; raises InvalidInput naming the field at fault."""
        merged = asdict(base or cls()) | {k: v for k, v in (data or {}).items() if v is not None}
        unknown = set(merged) - set(asdict(cls()))
        if unknown:
            raise InvalidInput(f"password_generation_policy: unknown field '{sorted(unknown)[0]}'")
        length = merged["length"]
        if not isinstance(length, int) or isinstance(length, bool) or not MIN_LENGTH <= length <= MAX_LENGTH:
            raise InvalidInput(
                f"password_generation_policy.length: must be an integer from {MIN_LENGTH} to {MAX_LENGTH}",
                field="password_generation_policy.length",
            )
        for flag in ("include_digits", "include_symbols", "include_uppercase"):
            if not isinstance(merged[flag], bool):
                raise InvalidInput(f"password_generation_policy.{flag}: must be true or false")
        return cls(**merged)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def generate(
    length: int,
    *,
    lowercase: bool = True,
    uppercase: bool = True,
    digits: bool = True,
    symbols: str = SYMBOLS,
    exclude: str = "",
    require_each: bool = True,
) -> str:
    """A password of ``length`` characters; with ``require_each``, one of every included class."""
    classes = [
        c
        for c in (
            string.ascii_lowercase if lowercase else "",
            string.ascii_uppercase if uppercase else "",
            string.digits if digits else "",
            symbols,
        )
        if c
    ]
    classes = [c for c in ("".join(ch for ch in cls if ch not in exclude) for cls in classes) if c]
    if not classes:
        raise InvalidInput("no characters are left to build a password from")
    if require_each and len(classes) > length:
        raise InvalidInput(f"length: {length} is too short to include every character type")
    alphabet = "".join(classes)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if not require_each or all(any(ch in cls for ch in candidate) for cls in classes):
            return candidate


def from_policy(policy: PasswordPolicy) -> str:
    return generate(
        policy.length,
        uppercase=policy.include_uppercase,
        digits=policy.include_digits,
        symbols=SYMBOLS if policy.include_symbols else "",
    )
