"""Waiting for ARM to settle after deletes: refusals that end by themselves, a group's list that lags."""

from __future__ import annotations

from typing import Any

from tenacity import Retrying, retry_if_exception, retry_if_result, stop_after_delay, wait_fixed

from blocks.azure import AzureCloud
from tasks.arm_ensure import Ensurer
from tasks.arm_errors import DeadlineExceededError, PermanentAzureError, wait_retry_after_or_exponential


def until_accepted(
    cloud: AzureCloud, ensurer: Ensurer, label: str, codes: frozenset[str], deadline_s: float
) -> Retrying:
    """Repeat a call ARM refuses with one of `codes` (it ends by itself) until `deadline_s`, backing off."""

    def refused_for_now(exc: BaseException) -> bool:
        return isinstance(exc, PermanentAzureError) and exc.code in codes

    def before_sleep(state: Any) -> None:
        exc = state.outcome.exception()
        ensurer.log.warning("%s: %s; sending it again in %.1fs", label, exc, state.upcoming_sleep)

    return Retrying(
        retry=retry_if_exception(refused_for_now),
        stop=stop_after_delay(deadline_s),
        wait=wait_retry_after_or_exponential(cloud.retry_backoff_seconds),
        before_sleep=before_sleep,
        reraise=True,
    )


def settled_contents(cloud: AzureCloud, ensurer: Ensurer, subscription_id: str, group: str) -> list[str]:
    """Names the group's resource list shows once no resource in it is still Deleting.

    ARM lists from its cache and drops a deleted resource only once its own GET of it answers
    404, so a list taken just after our deletes can still show them (provisioningState Deleting).
    """
    rc = cloud.resource_client(subscription_id)
    label = f"resource group {group}"
    seen: dict[str, list[tuple[str, str | None]]] = {"items": []}

    def listing() -> list[tuple[str, str | None]]:
        items = rc.resources.list_by_resource_group(group, expand="provisioningState")
        seen["items"] = sorted((str(r.name), r.provisioning_state) for r in items)
        return seen["items"]

    def deleting(items: list[tuple[str, str | None]]) -> bool:
        going = [name for name, state in items if state == "Deleting"]
        if going:
            ensurer.log.info("%s: waiting for %s to leave its resource list (Deleting)", label, ", ".join(going))
        return bool(going)

    settled = Retrying(
        retry=retry_if_result(deleting),
        stop=stop_after_delay(cloud.resource_deadline_seconds),
        wait=wait_fixed(cloud.poll_interval_seconds),
        retry_error_callback=lambda state: None,
    )(lambda: ensurer.call(label, listing))
    if settled is None:
        going = [name for name, state in seen["items"] if state == "Deleting"]
        raise DeadlineExceededError(
            label,
            "DeadlineExceeded",
            f"{', '.join(going)} still listed as Deleting after {cloud.resource_deadline_seconds:.0f}s; "
            "the group was neither deleted nor released. Re-run teardown once they are gone",
        )
    return [name for name, _ in settled]
