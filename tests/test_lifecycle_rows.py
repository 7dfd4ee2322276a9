"""The fault matrix's Azure lifecycle rows on a whole run: a Failed cluster reconciled with its data, busy links retried."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import reliability_matrix as matrix

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]


def test_a_cluster_marked_failed_is_reconciled_without_a_delete_and_keeps_its_data(tmp_path: Path) -> None:
    row = matrix.Row("aks-failed", "arm-mark-failed", "reconciled")
    with matrix.scenario_env(tmp_path, 1, matrix.Secrets()) as env:
        matrix.cluster_failed(env, row)
        assert row.ok, row.outcome
        assert len(env.rings()) == 1 and max(env.arm_inventory().values()) == 1


@pytest.mark.parametrize("mode", ["global-peering", "vpn-gateway"])
def test_a_link_whose_operation_ends_another_operation_in_progress_is_sent_again(tmp_path: Path, mode: str) -> None:
    row = matrix.Row(f"busy-{mode}", "arm-fail AnotherOperationInProgress x2", "retried")
    with matrix.scenario_env(tmp_path, 2, matrix.Secrets()) as env:
        matrix.busy_link(mode)(env, row)
        assert row.ok, row.outcome
