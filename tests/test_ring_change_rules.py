"""Day-two rules on the desired state: supported Cassandra version jumps, the nearest rebuild source, and the
shrink floor (largest replication factor, seeds). Pure: no sandbox."""

from __future__ import annotations

import copy

import pytest
import yaml

from multidc_core.corefile import without_zone
from multidc_core.load import load_spec
from multidc_core.ring_changes import (
    LiveDC,
    nearest_source,
    ring_changes,
    scale_down_refusal,
    upgrade_refusal,
)
from multidc_core.spec import RingSpec
from tests import ring_fixtures as rf

NTS = "org.apache.cassandra.locator.NetworkTopologyStrategy"


@pytest.mark.parametrize(
    ("running", "wanted", "refused"),
    [
        ("cassandra:3.11", "cassandra:5.0", "more than one major version above"),
        ("cassandra:3.11.17", "cassandra:5.0.2", "set cassandra.image to a 4.1 image first"),
        ("cassandra:5.0", "cassandra:4.1", "would downgrade"),
        ("cassandra:4.0", "cassandra:3.11", "would downgrade"),
        ("cassandra:3.11", "cassandra:4.1", None),
        ("cassandra:4.0", "cassandra:5.0", None),
        ("cassandra:4.1.7", "cassandra:5.0", None),
        ("cassandra:4.1", "cassandra:4.0", None),  # same major: not judged here
        ("cassandra:latest", "cassandra:5.0", None),  # unknown version: validation asks for cassandra.version
    ],
)
def test_image_changes_across_unsupported_version_jumps_are_refused(running: str, wanted: str, refused: str | None) -> None:
    why = upgrade_refusal(running, wanted)
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why and "cassandra.image" in why and "nothing was changed" in why


def test_the_plan_of_changes_refuses_a_jump_from_the_running_image_naming_the_field() -> None:
    spec = rf.sandbox_spec()
    live = {d.name: LiveDC(d.cassandra.nodes, image="cassandra:3.11") for d in spec.datacenters}
    changes = ring_changes(spec, live)
    refusal = changes.refusal()
    assert refusal is not None and "datacenter dc1: cassandra.image cassandra:5.0" in refusal
    assert "Cassandra upgrades one major at a time" in refusal


def _with(spec: RingSpec, **changes: object) -> RingSpec:
    raw = yaml.safe_load(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True)))
    for dc, loc in changes.items():
        d = next(x for x in raw["datacenters"] if x["name"] == dc)
        d["azure"]["location"] = loc
    return load_spec(yaml.safe_dump(raw))


def test_the_rebuild_source_is_the_nearest_live_dc_unless_named() -> None:
    spec = rf.three_dc_spec()  # dc1 eastus, dc2 southcentralus, dc3 westus2: all Azure, all "us"
    assert nearest_source(spec, "dc3", exclude=["dc3"]) == "dc1"  # same geography: spec order
    near = _with(spec, dc1="westeurope", dc2="westus2")
    assert nearest_source(near, "dc3", exclude=["dc3"]) == "dc2"  # the same region first
    far = _with(spec, dc1="westeurope", dc2="eastus2", dc3="northeurope")
    assert nearest_source(far, "dc3", exclude=["dc3"]) == "dc1"  # then the same geography (europe)
    assert nearest_source(far, "dc3", exclude=["dc3", "dc1"]) == "dc2"  # never a DC still being added
    raw = yaml.safe_load(yaml.safe_dump(far.model_dump(mode="json", exclude_none=True)))
    raw["datacenters"][2]["cassandra"]["rebuild_from"] = "dc2"
    assert nearest_source(load_spec(yaml.safe_dump(raw)), "dc3", exclude=["dc3"]) == "dc2"  # named wins


def test_the_rebuild_source_prefers_the_same_cloud() -> None:
    spec = rf.existing_spec(rf.EXAMPLES / "none.kubeconfig")  # aws-1 (eks), azure-1 (aks)
    raw = yaml.safe_load(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True)))
    gke = copy.deepcopy(raw["datacenters"][1])
    gke.update(name="aks-2", namespace="aks-2")
    raw["datacenters"].insert(0, {**copy.deepcopy(raw["datacenters"][0]), "name": "eks-0", "namespace": "eks-0"})
    raw["datacenters"][0]["kubeconfig"]["pod_cidrs"] = ["10.8.0.0/17"]
    raw["datacenters"][0]["kubeconfig"]["node_cidrs"] = ["10.8.192.0/18"]
    gke["kubeconfig"]["pod_cidrs"] = ["10.29.0.0/16"]
    raw["datacenters"].append(gke)
    raw["keyspaces"][0]["replication"] = {d["name"]: 2 for d in raw["datacenters"]}
    spec = load_spec(yaml.safe_dump(raw))
    assert nearest_source(spec, "aks-2", exclude=["aks-2"]) == "azure-1"  # AKS next to AKS, not the first DC


def test_a_shrink_below_the_largest_replication_factor_or_the_seeds_is_refused_naming_the_field() -> None:
    spec = rf.existing_spec(rf.EXAMPLES / "none.kubeconfig", nodes=2)  # customers at 2 per DC
    live = {"app_ks": {"class": NTS, "aws-1": "3"}, "customers_ks": {"class": NTS, "aws-1": "3"}}
    why = scale_down_refusal(spec, "aws-1", 4, live)
    assert why is not None and "keyspace app_ks" in why and "datacenters[aws-1].cassandra.nodes at 3 or more" in why
    # customers_ks is the spec's: the run sets it to 2 before any decommission, so it does not count.
    assert scale_down_refusal(spec, "aws-1", 4, {"customers_ks": live["customers_ks"]}) is None
    assert scale_down_refusal(spec, "aws-1", 2, live) is None  # not a shrink
    raw = yaml.safe_load(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True)))
    raw["datacenters"][0]["cassandra"]["nodes"] = 1
    raw["keyspaces"][0]["replication"]["aws-1"] = 1
    one = load_spec(yaml.safe_dump(raw))
    why = scale_down_refusal(one, "aws-1", 3, {})
    assert why is not None and "seeds" in why and "datacenters[aws-1].cassandra.nodes at 2 or more" in why


def test_a_removed_dcs_zone_leaves_the_corefile_and_nothing_else_does() -> None:
    corefile = (".:53 {\n    errors\n}\n# multidc begin\n    a.svc.cluster.local:53 {\n        forward . 10.0.0.1\n    }\n"
                "    b.svc.cluster.local:53 {\n        forward . 10.0.0.2\n    }\n# multidc end\n")
    out = without_zone(corefile, "a.svc.cluster.local")
    assert "a.svc.cluster.local" not in out and "10.0.0.1" not in out
    assert out == corefile.replace("    a.svc.cluster.local:53 {\n        forward . 10.0.0.1\n    }\n", "")
    assert without_zone(out, "c.svc.cluster.local") == out
