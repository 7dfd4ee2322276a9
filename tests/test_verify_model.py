"""The pure judgement of a ring (assess), cqlsh error wording, and the rendered summary, table and SVG."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET  # parses our own SVG output only
from pathlib import Path

import pytest

from multidc_core.load import load_spec
from multidc_core.spec import RingSpec
from multidc_core.topology_svg import node_table, render_svg, summary_markdown, svg_data_uri
from multidc_core.verify_model import (
    DataPath,
    NodeView,
    Observation,
    ReadResult,
    RingReport,
    WriteResult,
    assess,
    describe_cql_error,
)

SPEC = load_spec((Path(__file__).resolve().parent.parent / "examples" / "sandbox.yaml").read_text())
ADDR = {"dc1": [f"10.1.0.{i}" for i in (4, 5, 6)], "dc2": [f"10.2.0.{i}" for i in (4, 5, 6)]}
SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own renderer's output, not untrusted input


def nodes(states: dict[str, str] | None = None, dcs: tuple[str, ...] = ("dc1", "dc2")) -> list[NodeView]:
    """Six nodes, UN unless `states` maps an address to another code."""
    states = states or {}
    return [
        NodeView(
            address=a,
            dc=dc,
            rack=f"rack{i + 1}",
            state=states.get(a, "UN"),
            load="70 KiB",
            owns=100.0,
            host_id=f"00000000-0000-0000-0000-{dc[-1]}0000000000{i}",
        )  # fmt: skip
        for dc in dcs
        for i, a in enumerate(ADDR[dc])
    ]


def views(dc1: list[NodeView], dc2: list[NodeView]) -> list[Observation]:
    return [
        Observation(observer="dc1", pod="cassandra-rack1-0", nodes=dc1),
        Observation(observer="dc2", pod="cassandra-rack1-0", nodes=dc2),
    ]


def datapath(failed: set[tuple[str, str]] = frozenset(), write_error: str | None = None) -> DataPath:  # type: ignore[assignment]
    writes = [WriteResult(writer=w, key=f"k-{w}", consistency="EACH_QUORUM") for w in ("dc1", "dc2")]
    if write_error:
        writes[0] = WriteResult(writer="dc1", key="k-dc1", consistency="LOCAL_QUORUM", error=write_error)
    reads = [
        ReadResult(
            writer=w,
            reader=r,
            ok=(w, r) not in failed,
            seconds=None if (w, r) in failed else 0.1,
            error="the row is not there at LOCAL_QUORUM after 30 s" if (w, r) in failed else None,
        )  # fmt: skip
        for w, r in (("dc1", "dc2"), ("dc2", "dc1"))
    ]
    return DataPath(writes=writes, reads=reads)


DOWN = "10.1.0.5"
ALL_DC2_DOWN = {a: "DN" for a in ADDR["dc2"]}
ALL_DC1_DOWN = {a: "DN" for a in ADDR["dc1"]}
UNAVAILABLE = "Unavailable at EACH_QUORUM: 2 replicas needed, 0 alive"

CASES = [
    # name, observations, datapath, verdict, words every finding list must contain
    ("whole", views(nodes(), nodes()), datapath(), "whole", []),
    ("one node down", views(nodes({DOWN: "DN"}), nodes({DOWN: "DN"})), datapath(), "degraded",
     ["10.1.0.5 (dc1, rack2) is DN (down) as seen from dc1 and dc2"]),
    ("one node joining", views(nodes({DOWN: "UJ"}), nodes()), datapath(), "degraded",
     ["10.1.0.5 (dc1, rack2) is UJ (joining) as seen from dc1"]),
    ("two of three down", views(nodes({DOWN: "DN", "10.1.0.6": "DN"}), nodes()), datapath(), "broken",
     ["dc1 has 2 of 3 nodes down or missing: LOCAL_QUORUM (2 of 3 replicas) cannot be served there"]),
    ("node missing", views(nodes()[1:], nodes()[1:]), datapath(), "degraded",
     ["dc1 lists only 2 nodes in dc1; the spec expects 3", "dc2 lists only 2 nodes in dc1"]),
    ("split ring", views(nodes(dcs=("dc1",)), nodes(dcs=("dc2",))),
     DataPath(keyspace_error="dc1: Unrecognized strategy option {dc2}"), "broken",
     ["dc1 and dc2 do not see each other at all: two separate rings", "could not be set up"]),
    ("one-sided split", views(nodes(dcs=("dc1",)), nodes()), datapath(), "broken",
     ["dc1 does not see dc2 at all: two separate rings"]),
    ("partition", views(nodes(ALL_DC2_DOWN), nodes(ALL_DC1_DOWN)),
     datapath({("dc1", "dc2"), ("dc2", "dc1")}, UNAVAILABLE), "broken",
     ["dc1 and dc2 cannot reach each other", "dc2 cannot read dc1's writes: the row is not there",
      "dc1 cannot write at EACH_QUORUM (it did write at LOCAL_QUORUM): Unavailable"]),
    ("read fails only", views(nodes(), nodes()), datapath({("dc2", "dc1")}), "broken",
     ["dc1 cannot read dc2's writes"]),
    ("observer down", [Observation(observer="dc1", error="no pod answered nodetool status: x"),
                       Observation(observer="dc2", nodes=nodes())], datapath(), "broken",
     ["dc1 could not be observed: no pod answered"]),
    ("unknown dc", views(nodes() + [NodeView(address="10.9.0.1", dc="dc9", rack="r", state="UN", load="1 KiB",
                                             host_id="?")], nodes()), datapath(), "degraded",
     ["dc1 sees a datacenter dc9 that the spec does not name"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "obs", "dp", "verdict", "words"), CASES, ids=[c[0] for c in CASES])
def test_assess(name: str, obs: list[Observation], dp: DataPath, verdict: str, words: list[str]) -> None:
    report = assess(SPEC, obs, dp)
    assert report.verdict == verdict, report.diagnosis()
    text = report.diagnosis()
    for w in words:
        assert w in text, f"{w!r} not in:\n{text}"
    assert (report.findings == []) == (verdict == "whole")


def test_partition_names_no_node_one_by_one_but_both_dcs() -> None:
    report = assess(SPEC, views(nodes(ALL_DC2_DOWN), nodes(ALL_DC1_DOWN)), datapath({("dc1", "dc2")}))
    assert not any("10.2.0.4" in f.text for f in report.findings)  # the link finding covers them
    assert [(lk.a, lk.b, lk.status) for lk in report.links] == [("dc1", "dc2", "down")]


@pytest.mark.parametrize(
    ("obs", "dp", "status"),
    [
        (views(nodes(), nodes()), datapath(), "ok"),
        (views(nodes({DOWN: "DN"}), nodes({DOWN: "DN"})), datapath(), "degraded"),
        (views(nodes(dcs=("dc1",)), nodes(dcs=("dc2",))), DataPath(keyspace_error="x"), "split"),
        (
            [Observation(observer="dc1", error="x"), Observation(observer="dc2", error="y")],
            DataPath(),
            "unknown",
        ),
    ],
)
def test_link_status(obs: list[Observation], dp: DataPath, status: str) -> None:
    assert [lk.status for lk in assess(SPEC, obs, dp).links] == [status]


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (
            "Warning: Using a password on the command line interface can be insecure.\n"
            "Recommendation: use the credentials file to securely provide the password.\n"
            "<stdin>:1:NoHostAvailable: ('Unable to complete the operation against any hosts', {<Host: 10.1.0.4:9042"
            " dc1>: Unavailable('Error from server: code=1000 [Unavailable exception] message=\"Cannot achieve "
            "consistency level EACH_QUORUM\" info={\\'consistency\\': \\'EACH_QUORUM\\', \\'required_replicas\\': 2,"
            " \\'alive_replicas\\': 0}')})\n",
            "Unavailable at EACH_QUORUM: 2 replicas needed, 0 alive (coordinator 10.1.0.4 in dc1)",
        ),
        (
            "<stdin>:1:ConfigurationException: Error from server: code=2300 [Query invalid because of configuration"
            ' issue] message="Unrecognized strategy option {dc2} passed to NetworkTopologyStrategy"\n',
            "ConfigurationException: Error from server: code=2300 [Query invalid because of configuration issue]"
            ' message="Unrecognized strategy option {dc2} passed to NetworkTopologyStrategy"',
        ),
        ("x" * 400, "x" * 297 + "..."),
    ],
)
def test_describe_cql_error(stderr: str, expected: str) -> None:
    assert describe_cql_error(stderr) == expected


def report_of(case: str) -> RingReport:
    _, obs, dp, _, _ = next(c for c in CASES if c[0] == case)
    return assess(SPEC, obs, dp)


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_svg_is_valid_xml_with_a_box_per_dc_and_a_dot_per_expected_node(case: str) -> None:
    report = report_of(case)
    root = parse_svg(render_svg(report))
    assert root.tag == f"{SVG}svg"
    boxes = root.findall(f"{SVG}g[@class='dc']")
    assert [b.get("id") for b in boxes] == ["dc-dc1", "dc-dc2"]
    assert all(len(b.findall(f"{SVG}circle")) == 3 for b in boxes)
    assert len(root.findall(f"{SVG}g[@class='link']")) == 1


def test_svg_colours_nodes_and_links_by_state() -> None:
    root = parse_svg(render_svg(report_of("one node down")))
    fills = [c.get("fill") for c in root.find(f"{SVG}g[@id='dc-dc1']").findall(f"{SVG}circle")]  # type: ignore[union-attr]
    assert sorted(fills) == ["#2e9d4c", "#2e9d4c", "#d33c3c"]
    titles = [c.findtext(f"{SVG}title") for c in root.iter(f"{SVG}circle")]
    assert "10.1.0.5 rack2 DN" in titles
    link = root.find(f"{SVG}g[@class='link']/{SVG}line")
    assert link is not None and link.get("stroke") == "#e0a100"


def test_svg_lays_out_many_dcs_on_a_circle() -> None:
    text = (Path(__file__).resolve().parent.parent / "examples" / "sandbox.yaml").read_text()
    spec: RingSpec = load_spec(text)
    dcs = [
        spec.datacenters[0].model_copy(update={"name": f"dc{i}", "namespace": f"dc{i}"}) for i in range(1, 5)
    ]
    big = spec.model_copy(update={"datacenters": dcs, "keyspaces": []})
    root = parse_svg(render_svg(assess(big, [], DataPath())))
    assert len(root.findall(f"{SVG}g[@class='dc']")) == 4
    assert len(root.findall(f"{SVG}g[@class='link']")) == 6


def test_summary_embeds_the_picture_and_names_what_is_wrong() -> None:
    report = report_of("partition")
    svg = render_svg(report)
    md = summary_markdown(report, svg_data_uri(svg))
    assert md.startswith("# Ring `sandbox`: BROKEN")
    assert "dc1 and dc2 cannot reach each other" in md
    uri = md.split("![ring topology](", 1)[1].split(")", 1)[0]
    assert base64.b64decode(uri.removeprefix("data:image/svg+xml;base64,")).decode() == svg
    assert "| dc2 | ❌ the row is not there" in md


def test_node_table_one_row_per_node_with_each_dcs_view() -> None:
    rows = node_table(report_of("one node down"))
    assert len(rows) == 6
    down = next(r for r in rows if r["address"] == DOWN)
    assert (down["seen from dc1"], down["seen from dc2"], down["rack"]) == ("DN", "DN", "rack2")
    assert set(rows[0]) == {
        "dc",
        "rack",
        "address",
        "seen from dc1",
        "seen from dc2",
        "load",
        "owns",
        "host id",
    }


def test_summary_table_cells_keep_a_pipe_or_newline_in_a_value_inside_their_cell() -> None:
    report = report_of(CASES[0][0])
    odd = report.model_copy(
        update={"datacenters": [d.model_copy(update={"cluster": "ctx|with\npipe"}) for d in report.datacenters]}
    )
    rows = [line for line in summary_markdown(odd).splitlines() if "ctx" in line]
    assert rows and all(line.count(" | ") == 4 for line in rows), rows
    assert all("ctx\\|with pipe" in line for line in rows)
