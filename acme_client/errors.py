"""The errors of ACME work, and the one mapping from the `acme` library's failures to them.

`AcmeOrderError` carries what `issuance_info` shows: `error_code` (the ACME problem type's
suffix, e.g. 'unauthorized', 'rejectedIdentifier', or 'timeout' / 'connection_error') and
`error_message` with the detail per identifier. `acme_client` never imports `lifecycle`,
so this hierarchy has its own root. Messages never contain keys or tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import josepy as jose
import requests
from acme import errors as acme_errors
from acme import messages

# RFC 8555 section 7.1.6: authorizations can be "expired", a status acme 5 does not know and
# would refuse to parse (an order resumed after its authorizations expired). Registering it
# once here, where every module that parses ACME objects imports from, makes it parse.
STATUS_EXPIRED = messages.Status("expired")

# RFC 8555 section 6.7 problem types a later attempt may get past (the CA, not the request, failed).
RETRYABLE_CODES = frozenset({"badNonce", "rateLimited", "serverInternal", "timeout", "connection_error"})


class AcmeError(Exception):
    """Root of the errors `acme_client` raises on purpose; ``code`` is stable."""

    code = "acme_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AcmeConfigurationError(AcmeError):
    """A setting is unusable: account key type, key algorithm, names, EAB credentials."""

    code = "acme_configuration_invalid"


@dataclass(frozen=True, slots=True)
class IdentifierProblem:
    """One identifier's failure: 'example.com', 'unauthorized', 'Correct value not found...'."""

    identifier: str | None
    error_code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.identifier}: {self.detail}" if self.identifier else self.detail


class AcmeOrderError(AcmeError):
    """An account registration or order failed; what to show as issuance_info error_code / error_message."""

    code = "acme_order_failed"

    def __init__(self, error_code: str, error_message: str, *, problems: Iterable[IdentifierProblem] = ()) -> None:
        super().__init__(error_message)
        self.error_code = error_code
        self.error_message = error_message
        self.problems = tuple(problems)

    @property
    def retryable(self) -> bool:
        """True when the CA or the network failed rather than the request (a later attempt may succeed)."""
        return self.error_code in RETRYABLE_CODES

    def __repr__(self) -> str:
        return f"AcmeOrderError({self.error_code!r}, {self.error_message!r})"


def problem_code(error: messages.Error) -> str:
    """RFC 8555's code, else the suffix of the problem type (`code` is None outside RFC 8555's list)."""
    if error.code:
        return error.code
    typ = str(error.typ or "")
    return typ.rsplit(":", 1)[-1] if typ and typ != "about:blank" else "unknown"


def _problems(error: messages.Error, identifier: str | None = None) -> list[IdentifierProblem]:
    """The problem and its subproblems, each with the identifier it names."""
    own = error.identifier.value if error.identifier is not None else identifier
    detail = error.detail or error.title or error.description or problem_code(error)
    found = [IdentifierProblem(own, problem_code(error), detail)]
    for sub in error.subproblems or ():
        found.extend(_problems(sub, own))
    return found


def from_problem(error: messages.Error, identifier: str | None = None) -> AcmeOrderError:
    """An ACME problem document (order error, request refused) as an AcmeOrderError."""
    problems = _problems(error, identifier)
    shown = problems[1:] if len(problems) > 1 and error.subproblems else problems
    return AcmeOrderError(problem_code(error), "; ".join(map(str, shown)), problems=shown)


def from_authorizations(authorizations: Iterable[messages.AuthorizationResource]) -> AcmeOrderError:
    """Failed authorizations (their challenges' errors) as one AcmeOrderError naming each identifier."""
    problems: list[IdentifierProblem] = []
    for authzr in authorizations:
        body = authzr.body
        name = f"*.{body.identifier.value}" if body.wildcard else body.identifier.value
        errors = [c.error for c in body.challenges if c.error is not None]
        if not errors:  # e.g. an order resumed after its authorizations expired (Pebble: 1 hour)
            status = body.status.name if body.status is not None else "invalid"
            code = "authorizationExpired" if status == "expired" else "unauthorized"
            problems.append(IdentifierProblem(name, code, f"authorization is {status}"))
        for error in errors:
            problems.extend(_problems(error, name))
    code = problems[0].error_code if problems else "unauthorized"
    return AcmeOrderError(code, "; ".join(map(str, problems)) or "authorization failed", problems=problems)


def to_order_error(exc: BaseException, what: str = "ACME request") -> AcmeOrderError:
    """Map the `acme` library's and the transport's failures; other exceptions are a TypeError."""
    if isinstance(exc, AcmeOrderError):
        return exc
    if isinstance(exc, acme_errors.ValidationError):
        return from_authorizations(exc.failed_authzrs)
    if isinstance(exc, acme_errors.IssuanceError):
        return from_problem(exc.error)
    if isinstance(exc, messages.Error):
        return from_problem(exc)
    if isinstance(exc, acme_errors.TimeoutError):
        return AcmeOrderError("timeout", f"{what}: the ACME server did not finish in time")
    if isinstance(exc, requests.RequestException):
        return AcmeOrderError("connection_error", f"{what}: the ACME server could not be reached ({exc.__class__.__name__})")
    if isinstance(exc, acme_errors.Error):
        return AcmeOrderError("client_error", f"{what}: {exc.__class__.__name__}: {exc}")
    if isinstance(exc, jose.DeserializationError):
        return AcmeOrderError("malformed", f"{what}: the CA's answer could not be read ({exc})")
    raise TypeError(f"not an ACME failure: {exc.__class__.__name__}")


MAPPED = (acme_errors.Error, messages.Error, requests.RequestException, jose.DeserializationError)


@contextmanager
def acme_errors_as_order_errors(what: str) -> Iterator[None]:
    """Run ACME calls; their failures leave as AcmeOrderError (`what` names the step in messages)."""
    try:
        yield
    except AcmeOrderError:
        raise
    except MAPPED as exc:
        raise to_order_error(exc, what) from exc
