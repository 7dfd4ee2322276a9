"""load_spec and validate beyond the example files: paths, escaping, several mistakes at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from multidc_core.load import load_spec, path_of
from multidc_core.problems import Problem, SpecError
from multidc_core.spec import RingSpec
from multidc_core.validate import validate

TWO_DC = (Path(__file__).resolve().parent.parent / "examples" / "two-dc-vpn.yaml").read_text(encoding="utf-8")


def with_changes(**changes: object) -> str:
    """The two-dc example with dotted-path edits, e.g. {'datacenters.1.azure.vnet_cidr': '10.1.0.0/16'}."""
    data = yaml.safe_load(TWO_DC)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    return yaml.safe_dump(data)


def problems(text: str) -> list[Problem]:
    with pytest.raises(SpecError) as caught:
        load_spec(text)
    return caught.value.problems


def test_problem_str_names_path_message_and_fix() -> None:
    p = Problem("datacenters[1].azure.vnet_cidr", "overlaps datacenters[0].azure.vnet_cidr (10.1.0.0/16)",
                "give each datacenter its own address space")  # fmt: skip
    assert str(p) == (
        "datacenters[1].azure.vnet_cidr: overlaps datacenters[0].azure.vnet_cidr (10.1.0.0/16). "
        "Fix: give each datacenter its own address space."
    )
    assert str(SpecError([p, p])).count("\n") == 1


def test_path_of_formats_indexes_and_odd_keys() -> None:
    assert path_of(("datacenters", 0, "azure", "vnet_cidr")) == "datacenters[0].azure.vnet_cidr"
    assert path_of(("keyspaces", 2, "replication", "dc 1")) == "keyspaces[2].replication['dc 1']"
    assert path_of(()) == "<document>"


def test_valid_spec_has_no_problems() -> None:
    spec = load_spec(TWO_DC)
    assert validate(spec) == []
    assert [dc.name for dc in spec.datacenters] == ["dc-eastus", "dc-southcentralus"]


def test_several_independent_mistakes_are_reported_at_once() -> None:
    text = with_changes(
        datacenters__1__azure__service_cidr="172.31.0.0/16",
        datacenters__1__azure__dns_service_ip="172.31.0.10",
        datacenters__0__azure__dns_lb_ip="10.1.200.1",
        datacenters__0__cassandra__heap="16G",
        datacenters__1__namespace="dc-eastus",
        interconnect__gateway_sku="VpnGw1",
        keyspaces__0__name="system",
    )
    found = {p.path for p in problems(text)}
    assert found == {
        "datacenters[1].azure.service_cidr",
        "datacenters[0].azure.dns_lb_ip",
        "datacenters[0].cassandra.heap",
        "datacenters[1].namespace",
        "interconnect.gateway_sku",
        "keyspaces[0].name",
    }


def test_problems_come_in_document_order() -> None:
    data = yaml.safe_load(TWO_DC)
    dcs = data["datacenters"]
    for n in range(2, 11):  # eleven datacenters, so [10] must sort after [9], not after [1]
        dc = yaml.safe_load(yaml.safe_dump(dcs[1]))
        dc["name"] = dc["namespace"] = f"dc{n}"
        dcs.append(dc)
    dcs[10]["namespace"] = "default"  # found by an earlier check than the overlaps, yet reported last
    paths = [p.path for p in problems(yaml.safe_dump(data))]
    assert paths.index("datacenters[9].azure.vnet_cidr") < paths.index("datacenters[10].azure.vnet_cidr")
    assert paths[-1] == "datacenters[10].namespace"
    assert paths == sorted(paths, key=lambda p: int(p.split("[")[1].split("]")[0]))


@pytest.mark.parametrize(
    "raw",
    ["dc1\n; rm -rf /", "$(reboot)", "`id`", "dc1\x1b[31m", "dc\u202e1", 'a"b'],
)
def test_hostile_names_are_refused_and_never_echoed_raw(raw: str) -> None:
    found = problems(with_changes(datacenters__0__name=raw))
    text = "\n".join(str(p) for p in found)
    assert any(p.path == "datacenters[0].name" and "DNS-1123" in p.message for p in found)
    assert repr(raw) in text
    if not raw.isprintable():
        assert raw not in text


def test_integers_in_yaml_are_accepted_where_text_is_meant() -> None:
    text = TWO_DC.replace('zones: ["1", "2", "3"]', "zones: [1, 2, 3]").replace('zone: "1"', "zone: 1")
    spec = load_spec(text.replace("      nodes: 3\n", "      nodes: 3\n      cpu: 2\n", 1))
    assert spec.datacenters[0].azure is not None
    assert spec.datacenters[0].azure.zones == ["1", "2", "3"]
    assert spec.datacenters[0].cassandra.cpu == "2"


def test_float_version_asks_for_quotes_instead_of_losing_digits() -> None:
    (p,) = problems(with_changes(datacenters__0__azure__kubernetes_version=1.30))
    assert p.path == "datacenters[0].azure.kubernetes_version"
    assert "quote it" in p.fix


def test_unknown_field_far_from_any_name_lists_the_known_ones() -> None:
    (p,) = problems(with_changes(interconnect__colour="blue"))
    assert p.path == "interconnect.colour"
    assert "gateway_sku, mode" in p.fix


def test_merge_keys_are_not_mistaken_for_duplicates() -> None:
    text = TWO_DC.replace(
        "      nodes: 3\n      racks:", "      <<: {nodes: 3}\n      nodes: 3\n      racks:", 1
    )
    assert load_spec(text).datacenters[0].cassandra.nodes == 3


@pytest.mark.parametrize(
    ("changes", "path", "text"),
    [
        ({"datacenters__0__azure__zones": ["1", "2", "3"], "datacenters__0__azure__node_count": 2},
         "datacenters[0].azure.node_count", "cannot cover 3 zones"),
        ({"datacenters__0__azure__node_subnet": "10.1.0.0/26", "datacenters__0__azure__dns_lb_ip": "10.1.0.50"},
         "datacenters[0].azure.node_subnet", "Azure CNI needs 129"),
        ({"datacenters__0__azure__dns_lb_ip": "10.1.0.2"}, "datacenters[0].azure.dns_lb_ip", "Azure reserves"),
        ({"datacenters__0__azure__service_cidr": "10.96.0.0/11", "datacenters__0__azure__dns_service_ip": "10.96.0.10"},
         "datacenters[0].azure.service_cidr", "larger than Kubernetes allows"),
        ({"datacenters__0__cassandra__heap_new": "2G"}, "datacenters[0].cassandra.heap_new", "not smaller than heap"),
        ({"datacenters__0__cassandra__cpu": "0"}, "datacenters[0].cassandra.cpu", "is zero"),
        ({"cassandra": {"system_rf": 4}}, "cassandra.system_rf", "only 3 nodes"),
        ({"cassandra": {"image": "cassandra:5.0 && curl x"}}, "cassandra.image", "not a container image"),
        ({"datacenters__0__azure__location": "East US"}, "datacenters[0].azure.location", "not an Azure region"),
        ({"datacenters__0__azure__vm_size": "D4s_v5"}, "datacenters[0].azure.vm_size", "not an AKS VM size"),
        ({"datacenters__0__cassandra__storage_class": "Premium SSD"}, "datacenters[0].cassandra.storage_class",
         "not a StorageClass"),
        ({"keyspaces__0__replication": {"dc-eastus": 0}}, "keyspaces[0].replication", "no replicas"),
        ({"datacenters__0__name": "d" * 60}, "datacenters[0].name", "AKS cluster name"),
    ],
)  # fmt: skip
def test_single_checks(changes: dict[str, object], path: str, text: str) -> None:
    found = problems(with_changes(**changes))
    assert any(p.path == path and text in str(p) for p in found), "\n".join(map(str, found))


def test_basic_sku_accepts_a_29_gateway_subnet() -> None:
    text = with_changes(
        interconnect__gateway_sku="Basic", datacenters__0__azure__gateway_subnet="10.1.255.0/29"
    )
    assert load_spec(text).interconnect.gateway_sku == "Basic"


def test_peering_does_not_need_a_27_gateway_subnet() -> None:
    text = with_changes(
        interconnect__mode="global-peering", datacenters__0__azure__gateway_subnet="10.1.255.0/29"
    )
    assert isinstance(load_spec(text), RingSpec)


def test_two_dcs_may_share_a_resource_group() -> None:
    # Every resource name carries the datacenter, so sharing a group cannot collide.
    text = with_changes(datacenters__1__azure__resource_group="multidc-eastus")
    assert load_spec(text).datacenters[1].azure is not None
