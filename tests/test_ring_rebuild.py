"""Adding a DC to a ring that holds data: auto_bootstrap false, `nodetool rebuild`, and the plan of changes."""

from __future__ import annotations

import pytest

from multidc_core.cassandra_config import cassandra_yaml
from multidc_core.nodetool import parse_status
from multidc_core.ring_changes import LiveDC, live_dcs, ring_changes
from multidc_core.validate import validate
from sandbox.clock import Clock
from sandbox.ring.testing import World, make_world
from tests import ring_fixtures as rf

ROWS = 30
NO_BOOTSTRAP = "\nauto_bootstrap: false\n"


def holding_rows() -> World:
    """dc1 up with ROWS rows in ks (dc1 only), dc2 up too, then ks altered to replicate to dc2."""
    world = make_world(nodes=3)
    assert set(world.start("dc1").values()) == {None}
    for p in world.dc_pods("dc2"):
        p.yaml += NO_BOOTSTRAP
    assert set(world.start("dc2").values()) == {None}
    pod = world.pod("dc1")
    create = ("CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}; "
              "CREATE TABLE ks.t (id text PRIMARY KEY);")
    inserts = " ".join(f"INSERT INTO ks.t (id) VALUES ('k{i}');" for i in range(ROWS))  # noqa: S608
    assert world.cql(pod, create + " CONSISTENCY LOCAL_QUORUM; " + inserts).returncode == 0
    alter = "ALTER KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 3}"
    assert world.cql(pod, alter).returncode == 0
    return world


def count(world: World, dc: str, level: str) -> int:
    res = world.cql(world.pod(dc), f"CONSISTENCY {level}; SELECT id FROM ks.t")  # noqa: S608
    assert res.returncode == 0, res.stderr
    return sum(1 for line in res.stdout.splitlines() if line.strip().startswith("k"))


def test_a_new_dc_reads_nothing_until_each_node_is_rebuilt_from_the_source_dc() -> None:
    world = holding_rows()
    assert count(world, "dc2", "LOCAL_ONE") == 0  # the ALTER moved no data
    assert count(world, "dc2", "LOCAL_QUORUM") == 0
    for p in world.dc_pods("dc2"):
        res = world.sim.exec(p.node_id, ["nodetool", "rebuild", "--", "dc1"], p.env)
        assert res.returncode == 0, res.stderr
    assert count(world, "dc2", "LOCAL_ONE") == ROWS
    assert count(world, "dc2", "LOCAL_QUORUM") == ROWS


def test_rebuild_refuses_a_dc_the_ring_does_not_know_and_takes_its_options() -> None:
    world = holding_rows()
    p = world.pod("dc2")
    res = world.sim.exec(p.node_id, ["nodetool", "rebuild", "--", "dc9"], p.env)
    assert res.returncode == 2
    assert "Provided datacenter 'dc9' is not a valid datacenter, available datacenters are: dc1,dc2" in res.stderr
    # `-ks <keyspace>` is an option with a value, not the source DC.
    res = world.sim.exec(p.node_id, ["nodetool", "rebuild", "-ks", "ks", "dc1"], p.env)
    assert res.returncode == 0, res.stderr
    assert sum(len(rows) for rows in world.sim.nodes[p.node_id].data.get("ks", {}).values()) == ROWS


def test_a_node_with_auto_bootstrap_false_joins_normal_at_once_beside_a_joining_node() -> None:
    world = make_world(nodes=3, clock=Clock(time_scale=1.0))  # a bootstrap lasts 120 s: the joiner stays UJ
    assert set(world.start("dc1").values()) == {None}
    joiner = world.pod("dc1", 2)
    assert world.sim.state(world.sim.nodes[joiner.node_id]) == "J"
    for p in world.dc_pods("dc2")[:2]:
        assert world.start_pod(p) is None  # seeds never bootstrap
    plain = world.pod("dc2", 2)
    refused = world.start_pod(plain)
    assert refused is not None and "Other bootstrapping/leaving/moving nodes detected" in refused
    world.sim.remove_node(plain.node_id)
    plain.yaml += NO_BOOTSTRAP
    assert world.start_pod(plain) is None
    assert world.sim.state(world.sim.nodes[plain.node_id]) == "N"
    rows = parse_status(world.sim.exec(plain.node_id, ["nodetool", "status"], plain.env).stdout)
    assert {r.address: r.code for r in rows}[plain.ip] == "UN"


def test_the_plan_of_changes_names_added_removed_and_changed_dcs_and_refuses_removal() -> None:
    spec = rf.three_dc_spec()  # dc1, dc2, dc3 with 2 nodes each
    live = {"dc1": LiveDC(2), "dc2": LiveDC(3), "old": LiveDC(2)}
    changes = ring_changes(spec, live)
    assert (changes.added, changes.removed) == (["dc3"], ["old"])
    assert changes.changed == {"dc2": ["nodes 3 -> 2 (fewer)"]}
    refusal = changes.refusal()
    assert refusal is not None and "old" in refusal and "separate operation" in refusal
    grown = ring_changes(spec, {"dc1": LiveDC(1), "dc2": LiveDC(2)})
    assert grown.refusal() is None and grown.added == ["dc3"] and "more" in grown.changed["dc1"][0]
    shrunk = ring_changes(spec, {"dc1": LiveDC(3), "dc2": LiveDC(2), "dc3": LiveDC(2)})
    assert shrunk.refusal() is not None and "fewer nodes in dc1" in (shrunk.refusal() or "")
    same = cassandra_yaml(spec, spec.dc("dc1"))
    live_conf = {"dc1": LiveDC(2, spec.cassandra.image, same), "dc2": LiveDC(2, "cassandra:4.1", same + "x")}
    assert ring_changes(spec, live_conf).changed == {
        "dc2": ["image cassandra:4.1 -> cassandra:5.0 (rolled one pod at a time)",
                "cassandra.yaml settings or seeds differ (rolled one pod at a time, each back to UN first)"]
    }
    md = changes.to_markdown(spec.name, "dc1")
    assert "**add** `dc3`" in md and "**remove** `old`" in md and "**Refused:**" in md


def test_live_dcs_counts_the_nodes_nodetool_status_prints_per_dc() -> None:
    world = make_world(nodes=3)
    assert set(world.start().values()) == {None}
    p = world.pod("dc2")
    out = world.sim.exec(p.node_id, ["nodetool", "status"], p.env).stdout
    assert live_dcs(parse_status(out)) == {"dc1": LiveDC(3), "dc2": LiveDC(3)}


def test_auto_bootstrap_false_is_rendered_only_when_asked_and_rebuild_from_is_checked() -> None:
    spec = rf.three_dc_spec()
    dc3 = spec.dc("dc3")
    assert "auto_bootstrap" not in cassandra_yaml(spec, dc3)
    off = dc3.model_copy(update={"cassandra": dc3.cassandra.model_copy(update={"auto_bootstrap": False})})
    assert "\nauto_bootstrap: false\n" in cassandra_yaml(spec, off)
    def problems(source: str) -> list[str]:
        c3 = dc3.model_copy(update={"cassandra": dc3.cassandra.model_copy(update={"rebuild_from": source})})
        dcs = [*spec.datacenters[:2], c3]
        found = validate(spec.model_copy(update={"datacenters": dcs}))
        return [p.message for p in found if p.path == "datacenters[2].cassandra.rebuild_from"]

    assert problems("dc2") == []
    for bad, why in (("dc3", "itself"), ("dc9", "not a datacenter of the spec")):
        found = problems(bad)
        assert len(found) == 1 and why in found[0], found


@pytest.mark.parametrize("value", ["no", "maybe"])
def test_a_non_boolean_auto_bootstrap_stops_the_node(value: str) -> None:
    world = make_world(nodes=1)
    p = world.pod("dc1")
    p.yaml += f"\nauto_bootstrap: {value}\n"
    message = world.start_pod(p)
    if value == "no":  # YAML 1.1: no is false
        assert message is None
    else:
        assert message is not None and "auto_bootstrap" in message
