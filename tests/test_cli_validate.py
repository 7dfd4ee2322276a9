"""`multidc validate`: exit codes, what goes to stdout and stderr, and the console entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from multidc.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
INVALID = ROOT / "tests" / "specs" / "invalid"


def test_valid_specs_exit_0_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, EXAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert f"{ROOT / 'examples' / 'three-dc-vpn.yaml'}: ok (3 datacenters)" in out.splitlines()
    assert len(out.splitlines()) == len(EXAMPLES)


def test_invalid_spec_exits_2_listing_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(next(INVALID.glob("53-*.yaml")))
    assert main(["validate", spec]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 8
    assert all(line.startswith(f"{spec}: ") and " Fix: " in line for line in lines)
    assert (
        f"{spec}: datacenters[1].namespace: namespace 'dc1' is also used by datacenters[0].namespace." in err
    )


def test_a_bad_spec_does_not_hide_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    bad = str(next(INVALID.glob("10-*.yaml")))
    assert main(["validate", bad, str(EXAMPLES[0])]) == 2
    out, err = capsys.readouterr()
    assert f"{EXAMPLES[0]}: ok" in out
    assert "vnet_cidr: overlaps" in err


@pytest.mark.parametrize("make", ["missing", "directory", "binary"])
def test_unreadable_file_exits_2_with_a_clear_message(
    make: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "spec.yaml"
    if make == "directory":
        target.mkdir()
    elif make == "binary":
        target.write_bytes(b"\xff\xfe\x00name")
    assert main(["validate", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{target}: <file>: cannot read '{target}'")


def test_usage_errors_return_2_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["validate"]) == 2
    assert main(["frobnicate"]) == 2
    assert "validate" in capsys.readouterr().err


def test_console_entry_point_runs_as_a_process() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = next(INVALID.glob("19-*.yaml"))
    done = subprocess.run(
        [sys.executable, "-m", "multidc.cli", "validate", str(EXAMPLES[0]), str(bad)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"{EXAMPLES[0]}: ok" in done.stdout
    assert "datacenters[0].azure.gateway_subnet: /29 is too small" in done.stderr
