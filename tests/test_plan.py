"""The step DAG: what waits for what, the full mesh, the critical path, and the markdown view."""

from __future__ import annotations

import pytest

from multidc_core import naming
from multidc_core.plan import STEP_KINDS, Plan, Step, build_plan, render_files, step_id
from multidc_core.plan_svg import layers, render_plan_svg
from multidc_core.spec import RingSpec
from tests.render_support import example_names, load_example

# Typical Azure seconds (the sandbox's AZURE_DURATIONS uses the same keys).
DURATIONS = {"gateway": 2700.0, "cluster": 600.0, "connection": 180.0, "public_ip": 10.0, "vnet": 5.0}


@pytest.mark.parametrize("example", example_names())
def test_steps_are_unique_and_in_topological_order(example: str) -> None:
    plan = build_plan(load_example(example))
    seen: set[str] = set()
    for s in plan.steps:
        assert s.id not in seen
        assert set(s.depends_on) <= seen, s.id
        seen.add(s.id)
    assert plan.steps[-1].id == "verify"
    assert build_plan(load_example(example)) == plan


def test_gateways_do_not_wait_for_clusters() -> None:
    plan = build_plan(load_example("two-dc-vpn"))
    for gw in plan.of_kind("gateway"):
        ancestors = plan.ancestors(gw.id)
        assert not any(a.startswith(("cluster/", "role_assignment/", "identity/")) for a in ancestors)
        assert {step_id("vnet", gw.dc), step_id("public_ip", gw.dc)} <= ancestors


def test_first_dc_deploys_right_after_its_cluster_others_wait_for_interconnect_and_dns() -> None:
    plan = build_plan(load_example("three-dc-vpn"))
    first, *others = plan.of_kind("cassandra")
    # The Secret, then the objects: the first DC waits for nothing but its own cluster.
    assert first.depends_on == (step_id("admin_secret", first.dc),)
    # The ring's superuser is generated at the start, before any cluster exists.
    assert plan.step(step_id("admin_secret", first.dc)).depends_on == (step_id("kubeconfig", first.dc),
                                                                         "admin_credentials")
    assert plan.step("admin_credentials").depends_on == ()
    assert not any(
        a.startswith(("gateway/", "connection/", "interconnect", "dns_")) for a in plan.ancestors(first.id)
    )
    # Its kubeconfig block is saved beside the Kubernetes steps, not before them; verify waits for it.
    assert not any(a.startswith("kubeconfig_saved/") for s in plan.steps if s.kind != "verify" for a in s.depends_on)
    for d in plan.of_kind("kubeconfig"):
        assert plan.step(step_id("kubeconfig_saved", d.dc)).depends_on == (d.id,)
        assert step_id("kubeconfig_saved", d.dc) in plan.step("verify").depends_on
    for s in others:
        anc = plan.ancestors(s.id)
        assert {"interconnect_ready", step_id("dns_forward", s.dc), first.id} <= anc
        assert {step_id("connection", a, b) for a in ("dc-eastus",) for b in ("dc-westeurope",)} <= anc


def test_connections_wait_for_both_gateways_peerings_for_both_vnets() -> None:
    plan = build_plan(load_example("three-dc-vpn"))
    conns = plan.of_kind("connection")
    assert len(conns) == 6
    for c in conns:  # and the shared key, read or generated at the start, not when the gateways end
        assert set(c.depends_on) == {step_id("gateway", c.dc), step_id("gateway", c.peer), "vpn_key"}
    assert plan.step("vpn_key").depends_on == ()
    waits = plan.of_kind("connected")
    assert {(w.dc, w.peer) for w in waits} == {(c.dc, c.peer) for c in conns}
    for w in waits:  # a link is up once both of its directions exist
        assert set(w.depends_on) == {step_id("connection", w.dc, w.peer), step_id("connection", w.peer, w.dc)}
    assert set(plan.step("interconnect_ready").depends_on) == {w.id for w in waits}
    peer = build_plan(load_example("two-dc-peering"))
    assert not peer.of_kind("gateway") and not peer.of_kind("public_ip") and not peer.of_kind("connection")
    assert not peer.of_kind("vpn_key")
    for p in peer.of_kind("peering"):
        assert set(p.depends_on) == {step_id("vnet", p.dc), step_id("vnet", p.peer)}
    assert len(peer.of_kind("peering")) == 2


def test_three_dc_peering_is_a_full_mesh_of_six() -> None:
    data = load_example("three-dc-vpn").model_dump(mode="json")
    data["interconnect"]["mode"] = "global-peering"
    spec = RingSpec.model_validate(data)
    plan = build_plan(spec)
    assert len(plan.of_kind("peering")) == 6 and not plan.of_kind("gateway")
    assert sum(p.startswith("azure/") and "-peering-" in p for p in render_files(spec)) == 6


def test_dns_forward_waits_for_the_other_exposures_the_check_for_the_interconnect() -> None:
    plan = build_plan(load_example("three-dc-vpn"))
    exposes = {s.id for s in plan.of_kind("dns_expose")}
    for s in plan.of_kind("dns_forward"):
        assert set(s.depends_on) == exposes - {step_id("dns_expose", s.dc)} | {step_id("kubeconfig", s.dc)}
    first, *others = [d.name for d in load_example("three-dc-vpn").datacenters]
    for dc in others:  # the check from inside is what needs the networks joined
        check = plan.step(step_id("dns_check", dc))
        assert {"interconnect_ready", step_id("dns_forward", dc), step_id("seeds", first)} <= set(check.depends_on)
    assert set(plan.step(step_id("cassandra", others[0])).depends_on) == {
        step_id("admin_secret", others[0]),
        step_id("dns_check", others[0]),
    }
    assert all(s.depends_on == (step_id("kubeconfig", s.dc),) for s in plan.of_kind("dns_expose"))
    assert all(s.depends_on == (step_id("cluster", s.dc),) for s in plan.of_kind("kubeconfig"))


def test_existing_clusters_have_no_azure_steps() -> None:
    plan = build_plan(load_example("existing-clusters"))
    assert all(s.azure_duration_key is None for s in plan.steps)
    assert all(s.depends_on == () for s in plan.of_kind("kubeconfig"))
    assert plan.step("interconnect_ready").depends_on == ()


def test_auth_after_every_dc_and_every_final_dns_check() -> None:
    plan = build_plan(load_example("three-dc-vpn"))
    readies = {s.id for s in plan.of_kind("ready")}
    assert {step_id("ready", s.dc) for s in plan.of_kind("cassandra")} == readies
    assert set(plan.step("auth").depends_on) == readies | {s.id for s in plan.of_kind("dns_final")}
    assert "auth" in plan.ancestors("verify")


def test_nodes_beyond_the_seeds_join_dc_by_dc() -> None:
    spec = load_example("three-dc-vpn")
    plan = build_plan(spec)
    joiners = [d.name for d in spec.datacenters if naming.has_joiners(d)]
    assert len(joiners) >= 2
    for before, dc in zip(joiners, joiners[1:], strict=False):  # the ring-wide join slot
        assert step_id("ready", before) in plan.step(step_id("ready", dc)).depends_on
    assert plan.step(step_id("ready", joiners[0])).depends_on == (step_id("cassandra", joiners[0]),)


def test_dcs_added_to_a_live_ring_rebuild_one_after_another() -> None:
    spec = load_example("three-dc-vpn")
    _, b, c = [d.name for d in spec.datacenters]
    plan = build_plan(spec, adding=[c, b])
    assert [s.id for s in plan.of_kind("rebuild")] == [step_id("rebuild", b), step_id("rebuild", c)]
    assert plan.step(step_id("rebuild", b)).depends_on == ("keyspaces",)
    assert plan.step(step_id("rebuild", c)).depends_on == (step_id("rebuild", b),)
    assert step_id("rebuild", c) in plan.step("verify").depends_on
    assert not build_plan(spec, forward_dns=False).of_kind("dns_forward")


def test_edges_pass_through_the_steps_that_are_no_task() -> None:
    plan = build_plan(load_example("two-dc-vpn"))
    edges = plan.edges()
    assert not {e for e in edges if {"interconnect_ready", "verify"} & set(e)}
    for s in plan.of_kind("dns_check"):
        ups = {u for u, d in edges if d == s.id}
        assert {c.id for c in plan.of_kind("connected")} <= ups


def test_critical_path_runs_through_the_gateway() -> None:
    plan = build_plan(load_example("two-dc-vpn"))
    total, path = plan.critical_path(DURATIONS)
    assert total == 2700 + 10 + 180
    assert path[0].startswith("resource_group/") and path[-1] == "verify"
    assert any(p.startswith("gateway/") for p in path) and "interconnect_ready" in path
    assert plan.sequential_total(DURATIONS) == 2 * (2700 + 600 + 10 + 5 + 180)
    # Step ids override kinds: a slow second DC's Cassandra takes over the path.
    total2, path2 = plan.critical_path({**DURATIONS, "cassandra/dc-southcentralus": 1000})
    assert total2 == total + 1000 and "cassandra/dc-southcentralus" in path2


def test_critical_path_on_a_hand_made_dag() -> None:
    plan = Plan(
        "r",
        (
            Step("a", "x", None, ()),
            Step("b", "x", None, ("a",)),
            Step("c", "y", None, ("a",)),
            Step("d", "x", None, ("b", "c")),
        ),
    )
    assert plan.critical_path({"a": 1, "b": 2, "c": 5, "d": 1}) == (7, ["a", "c", "d"])
    assert plan.critical_path({"x": 1, "y": 0}) == (3, ["a", "b", "d"])
    assert plan.sequential_total({"x": 1, "y": 10}) == 13
    assert Plan("r", ()).critical_path({}) == (0.0, [])


def test_summary_and_markdown() -> None:
    plan = build_plan(load_example("two-dc-vpn"))
    summary = plan.summary()
    assert summary.splitlines()[0] == "ring multidc: 2 datacenter(s) (dc-eastus, dc-southcentralus), 42 steps"
    assert "critical path 48 min" in plan.summary(DURATIONS)
    md = plan.to_markdown()
    assert "| 1 | `resource_group/dc-eastus` |" in md
    assert "```mermaid" in md and "graph TD" in md
    assert md.count(" --> ") == sum(len(s.depends_on) for s in plan.steps)


def test_render_files_layout() -> None:
    files = render_files(load_example("three-dc-vpn"))
    assert list(files) == sorted(files)
    assert "plan.md" in files
    for path in files:
        top, *rest = path.split("/")
        assert top in ("azure", "kubernetes", "plan.md")
        if top == "azure":
            assert rest[1].endswith(".json") and rest[1][:2].isdigit()
        if top == "kubernetes":
            assert rest[1].endswith((".yaml", ".txt")) and rest[1][:2].isdigit()


@pytest.mark.parametrize("example", example_names())
def test_every_step_kind_is_declared(example: str) -> None:
    assert {s.kind for s in build_plan(load_example(example)).steps} <= set(STEP_KINDS)


@pytest.mark.parametrize("example", example_names())
def test_the_step_graph_picture_has_every_step_and_every_arrow(example: str) -> None:
    plan = build_plan(load_example(example))
    rows = {s.id: i for i, row in enumerate(layers(plan)) for s in row}
    assert sorted(rows) == sorted(plan.ids())
    assert all(rows[d] < rows[s.id] for s in plan.steps for d in s.depends_on), "arrows point down"
    svg = render_plan_svg(plan)
    assert svg.count("<line ") == sum(len(s.depends_on) for s in plan.steps)
    assert all(svg.count(f"<title>{s.id}</title>") == 1 for s in plan.steps)
    dashed = svg.count('stroke-dasharray="4 3"')
    assert dashed == sum(s.kind in ("interconnect_ready", "verify") for s in plan.steps)
