"""Edge shapes of a spec: one DC, fewer nodes than racks, DNS by NodePort or fixed address."""

from __future__ import annotations

from typing import Any

from multidc_core import manifests as m
from multidc_core.plan import build_plan, render_files
from multidc_core.spec import RingSpec
from tests.render_support import load_example, runtime_manifests, strict_validate


def _one_dc() -> RingSpec:
    data = load_example("two-dc-vpn").model_dump(mode="json")
    data["datacenters"] = data["datacenters"][:1]
    data["keyspaces"] = []
    data["datacenters"][0]["cassandra"]["nodes"] = 2
    return RingSpec.model_validate(data)


def test_a_single_dc_ring() -> None:
    spec = _one_dc()
    plan = build_plan(spec)
    assert not plan.of_kind("connection") and plan.step("interconnect_ready").depends_on == ()
    assert "keyspaces" not in plan.ids() and plan.step("verify").depends_on[0] == "auth"
    files = render_files(spec)
    assert not any("coredns-custom" in p for p in files)
    replicas = [m_["spec"]["replicas"] for m_ in m.statefulsets(spec, spec.datacenters[0])]
    assert replicas == [1, 1, 0]
    for manifest in runtime_manifests(spec):
        strict_validate(manifest)


def _kubeconfig_ring(exposure: str, addresses: list[str]) -> RingSpec:
    data: dict[str, Any] = load_example("existing-clusters").model_dump(mode="json")
    data["datacenters"][1]["kubeconfig"].update(dns_exposure=exposure, dns_addresses=addresses)
    return RingSpec.model_validate(data)


def test_address_exposure_needs_no_service_and_fixes_the_forward_address() -> None:
    spec = _kubeconfig_ring("address", ["10.19.0.53"])
    files = render_files(spec)
    assert not any(p.startswith("kubernetes/azure-1/") and "multidc-dns" in p for p in files)
    assert "forward . 10.19.0.53" in files["kubernetes/aws-1/03-corefile-multidc.txt"]


def test_nodeport_exposure_is_a_valid_nodeport_service() -> None:
    spec = _kubeconfig_ring("nodeport", ["10.19.1.1", "10.19.1.2"])
    svc = m.dns_service(spec, spec.datacenters[1])
    assert svc is not None and svc["spec"]["type"] == "NodePort"
    strict_validate(svc)
    assert "known at run time" in m.planned_dns_address(spec.datacenters[1])
