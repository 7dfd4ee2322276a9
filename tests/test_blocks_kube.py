"""The DatacenterKubeconfig block: Prefect's block contract, and a kubeconfig saved and loaded by ring/DC."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from blocks.kube import DatacenterKubeconfig, load_kubeconfig, save_kubeconfig
from multidc_core.naming import kubeconfig_block_name

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: very-secret-token}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
"""


class TestDatacenterKubeconfigIsAStandardBlock(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[Block]:
        return DatacenterKubeconfig


def test_block_name_is_per_ring_and_dc() -> None:
    assert kubeconfig_block_name("ring1", "dc-east") == "multidc-ring1-dc-east-kubeconfig"


def test_api_client_points_at_the_cluster_without_leaking_the_token() -> None:
    block = DatacenterKubeconfig(ring="r", dc="d", kubeconfig=KUBECONFIG)  # type: ignore[arg-type]
    assert "very-secret-token" not in repr(block)
    assert block.api_client().configuration.host == "https://127.0.0.1:6443"


def test_save_then_load(prefect_harness: None) -> None:
    name = save_kubeconfig("ring1", "dc1", KUBECONFIG)
    assert name == "multidc-ring1-dc1-kubeconfig"
    loaded = load_kubeconfig("ring1", "dc1")
    assert loaded.kubeconfig.get_secret_value() == KUBECONFIG
    # Saving again overwrites (a re-fetched kubeconfig replaces the old one).
    save_kubeconfig("ring1", "dc1", KUBECONFIG.replace("6443", "7443"))
    assert "7443" in load_kubeconfig("ring1", "dc1").kubeconfig.get_secret_value()
