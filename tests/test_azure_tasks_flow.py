"""The provision-azure flow run for real (Prefect test server) against the ARM emulator."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.blocks.system import Secret

from blocks.azure import AzureCloud
from blocks.kube import load_kubeconfig
from flows.provision import ProvisionResult, provision_azure
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.naming import shared_key_block_name
from multidc_core.spec import RingSpec
from sandbox.arm import ArmEmulator
from tests.arm_fixtures import EXAMPLES, TIME_SCALE, writes
from tests.prefect_logs import flow_run_logs

pytestmark = pytest.mark.e2e

GATEWAY_S = 45 * 60 * TIME_SCALE
CLUSTER_S = 10 * 60 * TIME_SCALE


def run(spec: RingSpec, cloud: AzureCloud) -> tuple[ProvisionResult, Any]:
    cloud.save("sandbox-arm", overwrite=True)
    state = provision_azure(spec, "sandbox-arm", return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert isinstance(result, ProvisionResult)
    return result, state.state_details.flow_run_id


def put_time(arm: ArmEmulator, type_name: str, name: str) -> float:
    provider = type_name.split("/", 1)[1].lower()
    times = [
        r["time"]
        for r in arm.requests()
        if r["method"] == "PUT" and f"{provider}/{name.lower()}" in r["path"].lower()
    ]
    assert times, f"no PUT of {type_name}/{name}"
    return float(min(times))


def test_two_dc_vpn_flow_gateways_beside_clusters_rerun_writes_nothing_and_no_secret_leaks(
    prefect_harness: None, cloud: AzureCloud, arm: ArmEmulator
) -> None:
    spec = load_spec((EXAMPLES / "two-dc-vpn.yaml").read_text())
    result, flow_run_id = run(spec, cloud)
    assert {link.status for link in result.links} == {"Connected"}
    assert len(result.links) == 2
    for dc in (d.name for d in spec.azure_dcs):
        # Concurrency, from the emulator's clock: each gateway's creation overlaps its cluster's.
        gw = put_time(arm, naming.T_GATEWAY, naming.gateway_name(spec.name, dc))
        cl = put_time(arm, naming.T_CLUSTER, naming.cluster_name(spec.name, dc))
        assert cl < gw + GATEWAY_S and gw < cl + CLUSTER_S, f"{dc}: gateway at {gw}, cluster at {cl}"
        assert result.kubeconfig_blocks[dc] == naming_block(spec, dc)

    before = writes(arm)
    again, _ = run(spec, cloud)
    assert writes(arm) == before
    assert {r.action for r in again.resources} == {"unchanged"}

    key = Secret.load(shared_key_block_name(spec.name)).get()  # type: ignore[union-attr]
    kubeconfig = load_kubeconfig(spec.name, spec.azure_dcs[0].name).kubeconfig.get_secret_value()
    messages = flow_run_logs(flow_run_id)
    assert any("creating" in m for m in messages)
    for secret in (key, kubeconfig):
        assert not any(secret in m for m in messages)
        assert secret not in result.model_dump_json()


def naming_block(spec: RingSpec, dc: str) -> str:
    return naming.kubeconfig_block_name(spec.name, dc)


@pytest.mark.parametrize("example", ["two-dc-peering.yaml", "three-dc-vpn.yaml"])
def test_peering_and_three_dc_mesh_connect_everywhere(
    prefect_harness: None, cloud: AzureCloud, arm: ArmEmulator, example: str
) -> None:
    spec = load_spec((EXAMPLES / example).read_text())
    result, _ = run(spec, cloud)
    n = len(spec.azure_dcs)
    assert len(result.links) == n * (n - 1)  # both directions of every pair
    assert {link.status for link in result.links} == {"Connected"}
    for src in spec.azure_dcs:
        for dst in spec.azure_dcs:
            if src.name != dst.name:
                assert arm.vnets_connected(naming.vnet_id(spec, src.name), naming.vnet_id(spec, dst.name))
