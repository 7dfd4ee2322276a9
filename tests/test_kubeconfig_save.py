"""An AKS cluster's kubeconfig block is saved beside the ring's Kubernetes steps, not before them: a slow
Prefect API (a SQLite server answering 503 to a block write, and the client backing off 2 s) holds no
Cassandra step back."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from blocks.kube import DatacenterKubeconfig
from flows.full import multidc
from flows.spec_ref import SpecRef
from multidc.sandbox_cmd import sandbox_cloud
from multidc_core import naming
from sandbox.harness import ThreadedWorld, world_in_thread
from tests.arm_fixtures import TEST_DEADLINE_S
from tests.paths import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
RING = "heldsave"
HOLD_S = 120.0  # a held save gives up waiting after this, so a failed test cannot hang


def _cassandra_sets(tw: ThreadedWorld) -> list[str]:
    return [
        f"{name}/{obj['metadata']['name']}"
        for name, entry in tw.world.clusters.items()
        for obj in entry.kube.objects("StatefulSet")
        if (obj["metadata"].get("labels") or {}).get("multidc.io/ring") == RING
    ]


def test_the_ring_is_applied_while_the_kubeconfig_blocks_are_still_being_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Old code: fetch_kubeconfig saved the block before it returned, so no StatefulSet was applied
    while the saves were held."""
    spec = tmp_path / "spec.yaml"
    spec.write_text((ROOT / "examples" / "sandbox.yaml").read_text().replace("name: sandbox", f"name: {RING}", 1))
    release, held = threading.Event(), threading.Event()
    real_save = DatacenterKubeconfig.save

    def held_save(self: DatacenterKubeconfig, *args: Any, **kwargs: Any) -> Any:
        held.set()
        release.wait(HOLD_S)
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(DatacenterKubeconfig, "save", held_save)
    with world_in_thread(tmp_path / "state", time_scale=0.001) as tw:
        assert tw.world.arm is not None
        cloud = sandbox_cloud({"arm_url": tw.world.arm.url, "ca_path": str(tw.world.arm.ca_path)}, deadline_s=TEST_DEADLINE_S)
        cloud.save("held-save-sandbox", overwrite=True)  # type: ignore[attr-defined]
        states: list[Any] = []
        run = threading.Thread(
            target=lambda: states.append(
                multidc(spec=SpecRef(path=str(spec)), cloud_block="held-save-sandbox", return_state=True)
            )
        )
        run.start()
        try:
            applied = Retrying(
                stop=stop_after_delay(90),
                wait=wait_fixed(0.2),
                retry=retry_if_result(lambda sets: not sets),
                retry_error_callback=lambda state: state.outcome.result() if state.outcome else [],
            )(_cassandra_sets, tw)
            assert held.is_set() and not release.is_set()
            assert applied, "a StatefulSet is applied while every kubeconfig save is held"
        finally:
            release.set()
            run.join(300)
        assert states and states[0].is_completed(), states[0].message if states else "the run did not end"
        for dc in ("dc1", "dc2"):  # saved once released: another process (verify-ring's deployment) can load it
            block = DatacenterKubeconfig.load(naming.kubeconfig_block_name(RING, dc))
            assert block.config_dict()["clusters"]  # type: ignore[attr-defined]
