"""Resume: after a failure mid-run, or the run's process killed, running multidc again finishes the ring
with no duplicate and no untagged resource (a re-run after success writing nothing: test_full_flow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import reliability_matrix as matrix

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]


def test_a_failed_gateway_fails_the_run_naming_it_and_a_rerun_reconciles_it(tmp_path: Path) -> None:
    row = matrix.Row("gateway", "arm-fail", "reconciled")
    with matrix.scenario_env(tmp_path, 1, matrix.Secrets()) as env:
        matrix.gateway_failed(env, row)
        assert row.ok, row.outcome
        gateways = env.world.arm.resources("Microsoft.Network/virtualNetworkGateways")
        assert sorted((g["name"], g["properties"]["provisioningState"]) for g in gateways) == [
            (f"{env.ring}-dc1-gw", "Succeeded"),
            (f"{env.ring}-dc2-gw", "Succeeded"),
        ]
        assert max(env.arm_inventory().values()) == 1 and env.untagged() == []


def test_the_run_killed_mid_flow_is_resumed_by_the_next_run_without_duplicates(tmp_path: Path) -> None:
    row = matrix.Row("killed", "SIGKILL", "resumed")
    with matrix.scenario_env(tmp_path, 2, matrix.Secrets()) as env:
        matrix.killed_worker(env, row)
        assert row.ok, row.outcome
        assert len(env.rings()) == 1, "one ring, every node of both DCs in it"
        assert max(env.arm_inventory().values()) == 1 and env.untagged() == []
