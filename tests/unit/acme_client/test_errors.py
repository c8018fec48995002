"""The one mapping from the `acme` library's failures to AcmeOrderError (error_code, error_message)."""

from __future__ import annotations

from typing import Any

import josepy as jose
import pytest
import requests
from acme import errors as acme_errors
from acme import messages

from acme_client.errors import AcmeOrderError, acme_errors_as_order_errors, problem_code, to_order_error

PREFIX = "urn:ietf:params:acme:error:"


def _authz(value: str, error: dict[str, Any] | None, *, wildcard: bool = False,
           status: str = "invalid") -> messages.AuthorizationResource:
    challenge: dict[str, Any] = {"type": "dns-01", "url": f"https://ca.test/chal/{value}", "token": "a" * 43,
                                 "status": "invalid" if error else "pending"}
    if error:
        challenge["error"] = error
    body = {"status": status, "identifier": {"type": "dns", "value": value}, "challenges": [challenge]}
    if wildcard:
        body["wildcard"] = True
    return messages.AuthorizationResource(body=messages.Authorization.from_json(body), uri=f"https://ca.test/authz/{value}")


def test_validation_error_gives_the_problem_type_and_the_detail_per_identifier() -> None:
    failed = [
        _authz("example.com", {"type": PREFIX + "unauthorized", "detail": "Correct value not found for DNS challenge"}),
        _authz("example.com", {"type": PREFIX + "unauthorized", "detail": "No TXT records found for DNS challenge"},
               wildcard=True),
    ]
    error = to_order_error(acme_errors.ValidationError(failed))
    assert error.error_code == "unauthorized"
    assert error.error_message == ("example.com: Correct value not found for DNS challenge; "
                                   "*.example.com: No TXT records found for DNS challenge")
    assert [p.identifier for p in error.problems] == ["example.com", "*.example.com"]
    assert not error.retryable


def test_an_invalid_authorization_without_a_challenge_error_still_names_the_identifier() -> None:
    error = to_order_error(acme_errors.ValidationError([_authz("example.com", None)]))
    assert (error.error_code, error.error_message) == ("unauthorized", "example.com: authorization is invalid")


def test_an_expired_authorization_says_so() -> None:
    error = to_order_error(acme_errors.ValidationError([_authz("example.com", None, status="expired")]))
    assert (error.error_code, error.error_message) == ("authorizationExpired", "example.com: authorization is expired")


def test_problem_type_outside_rfc8555_falls_back_to_the_suffix_of_its_type() -> None:
    problem = messages.Error(typ="urn:ietf:params:acme:error:someFutureProblem", detail="new")
    assert problem.code is None
    assert problem_code(problem) == "someFutureProblem"
    assert to_order_error(problem).error_code == "someFutureProblem"


def test_a_problem_without_type_is_unknown() -> None:
    assert problem_code(messages.Error(detail="x")) == "unknown"


def test_messages_error_keeps_its_code_and_detail() -> None:
    error = to_order_error(messages.Error.with_code("rejectedIdentifier", detail="Policy forbids issuing for name"))
    assert (error.error_code, error.error_message) == ("rejectedIdentifier", "Policy forbids issuing for name")


def test_subproblems_are_reported_per_identifier() -> None:
    problem = messages.Error.from_json({
        "type": PREFIX + "rejectedIdentifier", "detail": "Some identifiers were rejected",
        "subproblems": [
            {"type": PREFIX + "rejectedIdentifier", "detail": "bad TLD", "identifier": {"type": "dns", "value": "a.invalid"}},
            {"type": PREFIX + "caa", "detail": "CAA forbids", "identifier": {"type": "dns", "value": "b.example"}},
        ],
    })
    error = to_order_error(problem)
    assert error.error_code == "rejectedIdentifier"
    assert error.error_message == "a.invalid: bad TLD; b.example: CAA forbids"
    assert [(p.identifier, p.error_code) for p in error.problems] == [("a.invalid", "rejectedIdentifier"),
                                                                      ("b.example", "caa")]


def test_issuance_error_carries_the_orders_problem() -> None:
    error = to_order_error(acme_errors.IssuanceError(messages.Error.with_code("badCSR", detail="key too small")))
    assert (error.error_code, error.error_message) == ("badCSR", "key too small")


@pytest.mark.parametrize(("exc", "code", "retryable"), [
    (acme_errors.TimeoutError(), "timeout", True),
    (requests.ConnectionError("refused"), "connection_error", True),
    (requests.Timeout("slow"), "connection_error", True),
    (messages.Error.with_code("rateLimited", detail="too many"), "rateLimited", True),
    (messages.Error.with_code("serverInternal", detail="oops"), "serverInternal", True),
    (acme_errors.ClientError("odd"), "client_error", False),
    (jose.DeserializationError("Status not recognized"), "malformed", False),
])
def test_transport_and_server_failures_map_to_codes(exc: Exception, code: str, retryable: bool) -> None:
    error = to_order_error(exc, "new order")
    assert error.error_code == code
    assert error.retryable is retryable


def test_other_exceptions_are_not_acme_failures() -> None:
    with pytest.raises(TypeError):
        to_order_error(KeyError("x"))


def test_the_context_manager_converts_and_chains_the_cause() -> None:
    original = messages.Error.with_code("malformed", detail="bad JWS")
    with pytest.raises(AcmeOrderError) as caught:
        with acme_errors_as_order_errors("new order"):
            raise original
    assert caught.value.error_code == "malformed"
    assert caught.value.__cause__ is original


def test_the_context_manager_lets_programming_errors_through() -> None:
    with pytest.raises(ZeroDivisionError):
        with acme_errors_as_order_errors("new order"):
            1 / 0  # noqa: B018
