"""Every invalid example spec fails with the problems its header promises, and only those."""

from __future__ import annotations

from pathlib import Path

import pytest

from multidc_core.load import load_spec
from multidc_core.problems import Problem, SpecError

ROOT = Path(__file__).resolve().parent.parent
INVALID = sorted((ROOT / "tests" / "specs" / "invalid").glob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def expectations(path: Path) -> list[tuple[str, str]]:
    """`# expect: <field path>: <substring>` header lines, as (path, substring)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect: "):
            field, _, text = line.removeprefix("# expect: ").partition(": ")
            out.append((field, text))
    return out


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(SpecError) as caught:
        load_spec(text)
    return caught.value.problems


def after_path(problem: Problem) -> str:
    return str(problem).removeprefix(problem.path + ": ")


def test_there_are_enough_invalid_examples() -> None:
    assert len(INVALID) >= 30


@pytest.mark.parametrize("spec", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_reports_expected_problems(spec: Path) -> None:
    expected = expectations(spec)
    assert expected, f"{spec.name} has no '# expect:' header"
    problems = problems_of(spec.read_text(encoding="utf-8"))
    for field, text in expected:
        assert any(p.path == field and text in after_path(p) for p in problems), (
            f"{spec.name}: no problem at {field} containing {text!r}; got:\n" + "\n".join(map(str, problems))
        )
    # Precision: a mistake must not drag unrelated, spurious complaints along with it.
    assert {p.path for p in problems} <= {field for field, _ in expected}, "\n".join(map(str, problems))


@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_valid(spec: Path) -> None:
    ring = load_spec(spec.read_text(encoding="utf-8"))
    assert ring.datacenters


def test_every_required_example_exists() -> None:
    names = {p.name for p in EXAMPLES}
    assert {
        "two-dc-vpn.yaml",
        "two-dc-peering.yaml",
        "three-dc-vpn.yaml",
        "existing-clusters.yaml",
        "sandbox.yaml",
    } <= names
