"""The root of certkeeper's error hierarchy and the errors of the core.

Every error carries what a caller needs (the field, the rule, the id) and never a
secret value. `api/errors.py` maps each class to an HTTP status and a stable code.
"""

from __future__ import annotations


class CertkeeperError(Exception):
    """Root of every error certkeeper raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class LifecycleError(CertkeeperError):
    """Base of the core's errors."""


class InvalidInput(LifecycleError):
    """A request value breaks a rule (name format, size, range...)."""


class PayloadTooLarge(InvalidInput):
    """A payload or metadata object is larger than its limit."""


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


class IntegrityFailure(LifecycleError):
    """Stored ciphertext failed authentication: tampered, moved to another row, or a missing key.

    Never carries plaintext; the message names the row, not its content.
    """
