"""One retry layer per concern (docs/DESIGN.md, "Retrying ARM calls"): the worst case, counted by the emulator.

Each test makes ARM fail for good in one way and counts, in the emulator's request log, how many
times the request reached ARM: the bound stated for that concern, never a product of layers.
The tasks run as Prefect tasks (not `.fn`), so a task retry on top would show in the count.
"""

from __future__ import annotations

import time

import pytest

from blocks.arm_retry import TRANSPORT_RETRIES
from blocks.azure import AzureCloud
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.spec import RingSpec
from sandbox.arm import ArmEmulator
from tasks.arm_ensure import OPERATION_ATTEMPTS
from tasks.arm_errors import PermanentAzureError
from tasks.azure_network import ensure_public_ip, ensure_resource_group, ensure_vnet
from tests.arm_fixtures import EXAMPLES, sandbox_cloud

# The tasks run outside a flow, so Prefect has no flow run to send their log lines to.
pytestmark = pytest.mark.filterwarnings("ignore:Logger 'prefect.task_runs' attempted:UserWarning")


@pytest.fixture
def cloud(arm: ArmEmulator) -> AzureCloud:  # conftest's arm; its cloud with a short busy deadline
    # A busy answer would be sent again for retry_deadline_seconds; 5 s keeps the old, stacked
    # layers' count far above the bound while the bound itself is reached in well under a second.
    return sandbox_cloud(arm).model_copy(update={"retry_deadline_seconds": 5.0})


@pytest.fixture(scope="module")
def spec() -> RingSpec:
    return load_spec((EXAMPLES / "two-dc-vpn.yaml").read_text())


def _sent(arm: ArmEmulator, method: str, name: str) -> list[int]:
    """Statuses of the requests `method` that reached ARM for the resource `name` (not its operations)."""
    return [
        r["status"]
        for r in arm.requests()
        if r["method"] == method and r["path"].lower().split("?")[0].endswith("/" + name.lower())
    ]


def _public_ip_ready(cloud: AzureCloud, spec: RingSpec, dc: str) -> str:
    ensure_resource_group.fn(cloud, spec, dc)
    ensure_vnet.fn(cloud, spec, dc)
    return naming.public_ip_name(spec.name, dc)


def test_a_put_answered_500_every_time_reaches_arm_at_most_eleven_times(
    prefect_harness: None, cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    name = _public_ip_ready(cloud, spec, dc)
    arm.faults.add_error_rate(500, 1.0, max_count=1000, methods=["PUT"], path_contains=name)
    with pytest.raises(PermanentAzureError) as err:
        ensure_public_ip(cloud, spec, dc)  # the Prefect task: its retries would multiply the count
    assert name in str(err.value) and "InternalServerError" in str(err.value)
    # Transport layer: 1 + 10 sends; tenacity does not send it again, Prefect does not re-run the task.
    assert _sent(arm, "PUT", name) == [500] * (1 + TRANSPORT_RETRIES)


def test_a_read_throttled_every_time_waits_retry_after_and_stops_at_eleven(
    prefect_harness: None, cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    name = _public_ip_ready(cloud, spec, dc)
    arm.faults.add_error_rate(429, 1.0, max_count=1000, retry_after=0.05, methods=["GET"], path_contains=name)
    start = time.monotonic()
    with pytest.raises(PermanentAzureError) as err:
        ensure_public_ip(cloud, spec, dc)
    took = time.monotonic() - start
    assert "SubscriptionRequestsThrottled" in str(err.value)
    assert _sent(arm, "GET", name) == [429] * (1 + TRANSPORT_RETRIES)
    assert _sent(arm, "PUT", name) == []  # a read that never succeeded writes nothing
    # Every one of the 10 waits honoured Retry-After (0.05 s), the sandbox back-off being 0.01 s.
    assert took >= TRANSPORT_RETRIES * 0.05


def test_an_operation_that_keeps_ending_busy_is_sent_at_most_six_times(
    prefect_harness: None, cloud: AzureCloud, arm: ArmEmulator, spec: RingSpec
) -> None:
    dc = spec.azure_dcs[0].name
    name = _public_ip_ready(cloud, spec, dc)
    arm.faults.fail_provisioning(name, code="RetryableError", message="injected: busy", times=100)
    with pytest.raises(PermanentAzureError) as err:
        ensure_public_ip(cloud, spec, dc)
    assert "still busy after retrying" in str(err.value) and "RetryableError" in str(err.value)
    # Busy layer (tenacity): 6 writes in all, each accepted and each operation ended Failed.
    assert len(_sent(arm, "PUT", name)) == OPERATION_ATTEMPTS
    assert [f["fired"] for f in arm.faults.list() if f["kind"] == "FailProvisioning"] == [OPERATION_ATTEMPTS]
