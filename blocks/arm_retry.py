"""The transport retry layer of every ARM client: azure-core's RetryPolicy, bounded and marked.

One layer per concern (docs/DESIGN.md, "Retrying ARM calls"): this one repeats a single HTTP
request that ARM answered 408, 429 or 5xx, or that got no answer at all. Busy answers (409
"another operation is in progress", an operation that ended with a retryable code) are not
transport failures; tasks/arm_errors.py retries those with tenacity. Nothing else repeats a request.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

# The statuses azure-core calls retryable (RetryPolicy._RETRY_CODES minus its catch-all >= 500 that
# also takes 501/505): throttling and server faults, whatever the method.
TRANSPORT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# A request is sent at most this many times more (azure-core's own default for retry_total).
TRANSPORT_RETRIES = 10
# Connection and read failures (no answer) count against this smaller budget (azure-core's default).
NO_ANSWER_RETRIES = 3
# No sleep between two sends is longer than this, whatever Retry-After asks for.
MAX_WAIT_S = 60.0
# Set on the HTTP response azure-core gave up on, so the layers above do not send it again.
_EXHAUSTED = "multidc_transport_retries_spent"


class ArmRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy for ARM: transport statuses on every method, Retry-After capped."""

    def __init__(self, backoff_s: float, **kwargs: Any) -> None:
        super().__init__(
            retry_total=TRANSPORT_RETRIES,
            retry_status=TRANSPORT_RETRIES,
            retry_connect=NO_ANSWER_RETRIES,
            retry_read=NO_ANSWER_RETRIES,
            retry_backoff_factor=backoff_s,
            retry_backoff_max=MAX_WAIT_S,
            **kwargs,
        )
        # ARM's POSTs (list credentials) and PATCHes (tags) are safe to send again.
        self._method_whitelist = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "POST", "PATCH"})

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        # Only transport statuses: a 409 with Retry-After is ARM being busy, the layer above's concern.
        return bool(settings["total"]) and response.http_response.status_code in TRANSPORT_STATUS

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        asked = super().get_retry_after(response)
        return None if asked is None else min(asked, MAX_WAIT_S)

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        try:
            response = super().send(request)
        except (ServiceRequestError, ServiceResponseError) as exc:
            setattr(exc, _EXHAUSTED, True)
            raise
        if response.http_response.status_code in TRANSPORT_STATUS:
            setattr(response.http_response, _EXHAUSTED, True)
        return response


def transport_retried(exc: BaseException) -> bool:
    """True when ArmRetryPolicy already sent this request again as often as it ever will."""
    if getattr(exc, _EXHAUSTED, False):
        return True
    return isinstance(exc, HttpResponseError) and bool(getattr(exc.response, _EXHAUSTED, False))
