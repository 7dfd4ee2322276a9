"""Two runs on one ring at once: the second stops before any change, naming the run that holds the ring."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.runtime import flow_run

from flows.full import RingBusyError, multidc, ring_lock
from flows.spec_ref import SpecRef
from flows.teardown import teardown
from multidc.sandbox_cmd import sandbox_cloud
from multidc_core import naming
from sandbox.harness import ThreadedWorld, world_in_thread
from tests.paths import ROOT
from tests.test_azure_tasks import TEST_DEADLINE_S

pytestmark = pytest.mark.usefixtures("prefect_harness")
BLOCK = "concurrent-test-sandbox"
# What one two-DC VPN ring is made of in ARM: per DC a group, VNet, gateway IP, gateway, identity,
# grant and cluster; one connection each way.
ONE_RING = Counter(
    {
        "Microsoft.Resources/resourceGroups": 2,
        "Microsoft.Network/virtualNetworks": 2,
        "Microsoft.Network/virtualNetworks/subnets": 4,
        "Microsoft.Network/publicIPAddresses": 2,
        "Microsoft.Network/virtualNetworkGateways": 2,
        "Microsoft.ManagedIdentity/userAssignedIdentities": 2,
        "Microsoft.Authorization/roleAssignments": 2,
        "Microsoft.ContainerService/managedClusters": 2,
        "Microsoft.Network/connections": 2,
    }
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[ThreadedWorld]:
    with world_in_thread(tmp_path_factory.mktemp("concurrent") / "state", time_scale=0.001) as tw:
        assert tw.world.arm is not None
        block = sandbox_cloud({"arm_url": tw.world.arm.url, "ca_path": str(tw.world.arm.ca_path)}, deadline_s=TEST_DEADLINE_S)
        block.save(BLOCK, overwrite=True)  # type: ignore[attr-defined]
        yield tw


def spec_file(tmp_path: Path, ring: str) -> Path:
    text = (ROOT / "examples" / "sandbox.yaml").read_text().replace("name: sandbox\n", f"name: {ring}\n", 1)
    path = tmp_path / f"{ring}.yaml"
    path.write_text(text)
    return path


# ARM keeps no tags on these; teardown finds them through their parent or deterministic name.
UNTAGGABLE = {"Microsoft.Network/virtualNetworks/subnets", "Microsoft.Authorization/roleAssignments"}


@flow
def hold_ring(ring: str, held: threading.Event, release: threading.Event) -> str:
    """Stands for a long run that holds the ring (a gateway being built)."""
    with ring_lock(ring):
        held.set()
        release.wait(60)
    return str(flow_run.get_id())


class Holder:
    """hold_ring in a thread; `run_id` once it finished."""

    def __init__(self, ring: str) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        self.out: list[Any] = []
        self.thread = threading.Thread(
            target=lambda: self.out.append(hold_ring(ring, self.held, self.release, return_state=True))
        )

    def __enter__(self) -> Holder:
        self.thread.start()
        assert self.held.wait(60), "the holder never got the lock"
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(60)
        assert self.out and self.out[0].is_completed(), "the holder ends normally and frees the ring"


def busy_message(state: Any) -> str:
    assert state.is_failed(), state
    with pytest.raises(RingBusyError) as caught:
        state.result()
    return str(caught.value)


def test_multidc_and_teardown_stop_at_once_while_another_run_holds_the_ring(
    sandbox: ThreadedWorld, tmp_path: Path
) -> None:
    path = spec_file(tmp_path, "heldring")
    assert sandbox.world.arm is not None
    before = sandbox.world.arm.counts()
    with Holder("heldring") as holder:
        state = multidc(spec=SpecRef(path=str(path)), cloud_block=BLOCK, return_state=True)
        message = busy_message(state)
        down = teardown(
            spec=SpecRef(path=str(path)), cloud_block=BLOCK, confirm="heldring", return_state=True
        )
        down_message = busy_message(down)
    holder_id = holder.out[0].state_details.flow_run_id
    for text in (message, down_message):
        assert f"({holder_id}); wait for it or cancel it" in text, text
        assert text.startswith("ring heldring is being changed by flow run "), text
    assert sandbox.world.arm.counts() == before, "neither run made a single ARM request"


def test_two_runs_started_together_one_builds_the_other_is_refused_and_nothing_is_duplicated(
    sandbox: ThreadedWorld, tmp_path: Path
) -> None:
    path = spec_file(tmp_path, "racering")
    states: list[Any] = []
    start = threading.Barrier(2)
    # The winner must still hold the ring when the other asks for it, however late a loaded machine
    # starts the second flow run: gateways 5x slower keep the build going for 10+ s.
    assert sandbox.world.arm is not None
    slow = sandbox.world.arm.faults.slow_type(naming.T_GATEWAY, 5)

    def run() -> None:
        start.wait(30)
        states.append(multidc(spec=SpecRef(path=str(path)), cloud_block=BLOCK, return_state=True))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    sandbox.world.arm.faults.remove(slow)
    assert len(states) == 2
    done = [s for s in states if s.is_completed()]
    refused = [s for s in states if not s.is_completed()]
    assert len(done) == 1 and len(refused) == 1, [s.message for s in states]
    winner_id = done[0].state_details.flow_run_id
    assert f"({winner_id}); wait for it or cancel it" in busy_message(refused[0])
    assert done[0].result().verification.verdict == "whole"

    assert sandbox.world.arm is not None
    by_type = Counter(r["type"] for r in sandbox.world.arm.resources())
    assert by_type == ONE_RING, "exactly one ring's resources: nothing created twice"
    untagged = [
        r["id"]
        for r in sandbox.world.arm.resources()
        if r["type"] not in UNTAGGABLE and (r.get("tags") or {}).get("multidc-ring") != "racering"
    ]
    assert untagged == [], "every taggable resource carries the ring's tag"
    # The lock is free again: a third run goes through and writes nothing.
    writes = sandbox.world.arm.counts()["writes"]
    again = multidc(spec=SpecRef(path=str(path)), cloud_block=BLOCK, return_state=True)
    assert again.is_completed(), again.message
    assert sandbox.world.arm.counts()["writes"] == writes


def test_a_free_lock_not_granted_in_time_is_tried_again_and_never_called_held(
    sandbox: ThreadedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API too slow to grant a free slot (here: no time at all) is not a busy ring: the run says so."""
    import flows.full

    monkeypatch.setattr(flows.full, "RING_LOCK_WAIT_S", 0.000001)
    state = hold_ring("slowgrant", threading.Event(), threading.Event(), return_state=True)
    message = busy_message(state)
    assert "did not grant its free lock multidc-ring-slowgrant in 3 tries" in message, message
    assert "is being changed by" not in message
