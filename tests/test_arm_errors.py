"""Transient versus permanent: the one classification every Azure task and retry uses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.mgmt.core.exceptions import ARMErrorFormat

from tasks.arm_errors import (
    PermanentAzureError,
    call_arm,
    describe,
    is_transient,
    retry_after_seconds,
    retry_condition,
)


class FakeResponse:
    """Just what HttpResponseError reads from a response."""

    def __init__(
        self, status: int, code: str | None = None, message: str = "", headers: dict[str, str] | None = None
    ) -> None:
        self.status_code = status
        self.reason = "reason"
        self.headers = headers or {}
        self._body = json.dumps({"error": {"code": code, "message": message}}) if code else ""

    def text(self, encoding: str | None = None) -> str:
        return self._body


def arm_error(status: int, code: str | None = None, message: str = "", **headers: str) -> HttpResponseError:
    response: Any = FakeResponse(status, code, message, headers)
    return HttpResponseError(response=response, error_format=ARMErrorFormat)


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (429, "TooManyRequests", "slow down"),
        (500, "InternalServerError", "boom"),
        (502, None, ""),
        (503, "ServiceUnavailable", "later"),
        (
            409,
            "AnotherOperationInProgress",
            "Another operation on this or dependent resource is in progress.",
        ),
        (409, "Conflict", "Operation on resource is in progress, retry later"),
        (400, "RetryableError", "A retryable error occurred."),
        (400, "PrincipalNotFound", "Principal 123 does not exist in the directory."),
        (400, "ReferencedResourceNotProvisioned", "Cannot proceed with operation because resource x is not in Succeeded state."),
        # AKS: https://learn.microsoft.com/en-us/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/operationnotallowed
        (
            409,
            "OperationNotAllowed",
            "Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish "
            "before starting a new operation.",
        ),
    ],
)
def test_transient(status: int, code: str | None, message: str) -> None:
    assert is_transient(arm_error(status, code, message))


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "InvalidParameter"),
        (400, "SubnetIsOutsideVnetAddressSpace"),
        (401, "AuthenticationFailed"),
        (403, "AuthorizationFailed"),
        (404, "ResourceNotFound"),
        (409, "Conflict"),
        (409, "QuotaExceeded"),
        (409, "OperationNotAllowed"),
        (429, "QuotaExceeded"),
    ],
)
def test_permanent(status: int, code: str) -> None:
    assert not is_transient(arm_error(status, code, "no"))


def test_connection_errors_are_transient_and_bugs_are_not() -> None:
    assert is_transient(ServiceRequestError("connection refused"))
    assert is_transient(ConnectionResetError())
    assert not is_transient(KeyError("x"))
    assert not is_transient(PermanentAzureError("vnet x", "Bad", "bad"))


def test_describe_reads_arm_code_and_message() -> None:
    fault = describe(arm_error(400, "InvalidParameter", "addressPrefix is invalid"))
    assert (fault.status, fault.code, fault.message) == (400, "InvalidParameter", "addressPrefix is invalid")


@pytest.mark.parametrize(("value", "expected"), [("7", 7.0), ("0", 0.0), ("soon", None)])
def test_retry_after(value: str, expected: float | None) -> None:
    assert retry_after_seconds(arm_error(429, "TooManyRequests", **{"Retry-After": value})) == expected


def test_call_arm_retries_transient_then_succeeds() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise arm_error(429, "TooManyRequests", "throttled", **{"Retry-After": "0"})
        return "ok"

    assert call_arm("vnet r-d-vnet", flaky, deadline_s=5, initial_backoff_s=0) == "ok"
    assert len(calls) == 3


def test_call_arm_fails_at_once_on_permanent_with_arm_words() -> None:
    calls: list[int] = []

    def bad() -> Any:
        calls.append(1)
        raise arm_error(400, "InvalidParameter", "addressPrefix 10.0.0.0/33 is invalid")

    with pytest.raises(PermanentAzureError) as err:
        call_arm("virtual network r-d-vnet", bad, deadline_s=5, initial_backoff_s=0)
    assert len(calls) == 1
    assert err.value.code == "InvalidParameter"
    assert (
        str(err.value)
        == "virtual network r-d-vnet: InvalidParameter (HTTP 400): addressPrefix 10.0.0.0/33 is invalid"
    )


def test_call_arm_gives_up_at_the_deadline() -> None:
    def always_busy() -> Any:
        raise arm_error(503, "ServiceUnavailable", "busy")

    with pytest.raises(PermanentAzureError, match="ServiceUnavailable"):
        call_arm("gw", always_busy, deadline_s=0.2, initial_backoff_s=0.05)


class FailedState:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def result(self) -> Any:
        raise self.exc


def test_prefect_retry_condition_uses_the_same_classification() -> None:
    assert retry_condition(None, None, FailedState(arm_error(500, "InternalServerError", "x")))
    assert not retry_condition(None, None, FailedState(arm_error(400, "InvalidParameter", "x")))
    assert not retry_condition(None, None, FailedState(PermanentAzureError("r", "c", "m")))
