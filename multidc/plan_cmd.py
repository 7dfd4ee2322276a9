"""`multidc plan SPEC --out DIR`: write every rendered artifact and the step graph."""

from __future__ import annotations

import argparse
from pathlib import Path

from multidc.cli import EXIT_INVALID, EXIT_OK, read_spec, report
from multidc_core.plan import build_plan, render_files
from multidc_core.problems import SpecError


def cmd_plan(args: argparse.Namespace) -> int:
    try:
        spec = read_spec(args.spec)
    except SpecError as exc:
        report(args.spec, exc)
        return EXIT_INVALID
    files = render_files(spec)
    out = Path(args.out)
    for rel, text in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(build_plan(spec).summary())
    print(f"wrote {len(files)} files under {out}/ (see {out / 'plan.md'})")
    return EXIT_OK


def add_plan(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="render Azure bodies, Kubernetes manifests and the step graph, offline",
        description="Render everything a run would create, without touching any cloud.",
    )
    parser.add_argument("spec", metavar="SPEC", help="ring spec YAML file")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    parser.set_defaults(func=cmd_plan)
