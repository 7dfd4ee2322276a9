"""`multidc plan` writes every artifact a run would create, and refuses a bad spec."""

import json
from pathlib import Path

import yaml

from multidc.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_plan_writes_azure_bodies_manifests_and_step_graph(tmp_path: Path) -> None:
    assert main(["plan", str(EXAMPLES / "three-dc-vpn.yaml"), "--out", str(tmp_path)]) == 0
    connections = [json.loads(p.read_text()) for p in tmp_path.glob("azure/*/*-connection-*.json")]
    # A full mesh of three DCs needs a connection from each side of each pair.
    assert len(connections) == 6
    assert {c["properties"]["connectionType"] for c in connections} == {"Vnet2Vnet"}
    sts = [yaml.safe_load(p.read_text()) for p in tmp_path.glob("kubernetes/*/*-statefulset-*.yaml")]
    assert sts and all(s["kind"] == "StatefulSet" for s in sts)
    assert "```mermaid" in (tmp_path / "plan.md").read_text()


def test_plan_of_an_invalid_spec_writes_nothing_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad_Name\ndatacenters: []\n")
    out = tmp_path / "out"
    assert main(["plan", str(bad), "--out", str(out)]) == 2
    assert not out.exists()
