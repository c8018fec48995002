"""The root of certkeeper's error hierarchy and the errors of the core.

Every error carries what a caller needs (the field, the rule, the id) and never a
secret value. `api/errors.py` maps each class to an HTTP status and a stable code.
"""

from __future__ import annotations

from pki.errors import InputTooLarge, PkiError


class CertkeeperError(Exception):
    """Root of every error certkeeper raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code  # a finer stable code than the class's row in api/errors.py (e.g. "not_pem")


class LifecycleError(CertkeeperError):
    """Base of the core's errors."""


class InvalidInput(LifecycleError):
    """A request value breaks a rule (name format, size, range...)."""


class PayloadTooLarge(InvalidInput):
    """A payload or metadata object is larger than its limit."""


def from_pki_error(exc: PkiError, *, prefix: str | None = None) -> InvalidInput:
    """The core's error for a `pki` input error: PayloadTooLarge for a size cap, else
    InvalidInput, with the same message, field and code. ``prefix`` nests the field
    (``managed_csr`` + ``key_bits`` -> ``managed_csr.key_bits``)."""
    field, message = exc.field, exc.message
    if prefix:
        if field and message.startswith(f"{field}:"):
            message = f"{prefix}.{message}"
        field = f"{prefix}.{field}" if field else prefix
    cls = PayloadTooLarge if isinstance(exc, InputTooLarge) else InvalidInput
    return cls(message, field=field, code=exc.code)


class NotFound(LifecycleError):
    """The named resource does not exist (or is outside the caller's groups)."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} '{ident}' was not found")
        self.kind = kind
        self.ident = ident


class Conflict(LifecycleError):
    """The request conflicts with the current state (duplicate name, reused token...)."""


class Locked(LifecycleError):
    """The secret or version is locked; the request would change locked data."""

    def __init__(self, message: str, *, locks: list[str] | None = None) -> None:
        super().__init__(message)
        self.locks = locks or []


class Forbidden(CertkeeperError):
    """The caller is authenticated but its role or groups do not allow this."""


class Unauthenticated(CertkeeperError):
    """No valid bearer token."""


class StoreUnavailable(LifecycleError):
    """The database cannot be reached."""


class StoreUnreachable(StoreUnavailable):
    """No connection to the database could be made (refused, or timed out)."""


class IntegrityFailure(LifecycleError):
    """Stored ciphertext failed authentication: tampered, moved to another row, or a missing key.

    Never carries plaintext; the message names the row, not its content.
    """
