"""Golden files: the whole rendered plan of examples/two-dc-vpn.yaml (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from multidc_core.plan import render_files
from tests.render_support import load_example

GOLDEN = Path(__file__).resolve().parent / "golden"


def check_golden(example: str) -> None:
    files = render_files(load_example(example))
    root = GOLDEN / example
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(root, ignore_errors=True)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
    stored = {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}
    assert sorted(stored) == sorted(files), "file set changed: rerun with UPDATE_GOLDEN=1 and review the diff"
    for path, text in files.items():
        assert text == stored[path], f"{path} changed: rerun with UPDATE_GOLDEN=1 and review the diff"


def test_two_dc_vpn_golden() -> None:
    check_golden("two-dc-vpn")


def test_existing_clusters_golden() -> None:
    check_golden("existing-clusters")
