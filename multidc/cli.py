"""The `multidc` command line: one function per subcommand, registered in build_parser()."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from multidc_core.load import load_spec
from multidc_core.problems import Problem, SpecError
from multidc_core.spec import RingSpec

EXIT_OK = 0
EXIT_INVALID = 2  # argparse uses 2 for usage errors too: "your input is wrong, nothing was done"


def read_spec(path: str | Path) -> RingSpec:
    """Read and validate a spec file; SpecError (path `<file>`) when it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(
            [
                Problem(
                    "<file>",
                    f"cannot read {str(path)!r}: {reason}",
                    "give the path of a UTF-8 YAML spec file",
                )
            ]
        ) from None
    return load_spec(text)


def report(spec_path: str, error: SpecError) -> None:
    """Every problem on stderr, one per line, prefixed with the spec's path."""
    for problem in error.problems:
        print(f"{spec_path}: {problem}", file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for spec_path in args.specs:
        try:
            spec = read_spec(spec_path)
        except SpecError as exc:
            report(spec_path, exc)
            status = EXIT_INVALID
            continue
        print(f"{spec_path}: ok ({len(spec.datacenters)} datacenters)")
    return status


def add_validate(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate", help="check ring specs and list every problem", description="Check ring specs."
    )
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="ring spec YAML file")
    parser.set_defaults(func=cmd_validate)


def subcommands() -> list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]]:
    """Each entry adds one subcommand whose parser sets `func` (args -> exit code)."""
    # Imported here, not at module level: those modules import this one for read_spec/report,
    # and `python -m multidc.cli` loads this file twice (as __main__ and as multidc.cli).
    from multidc.plan_cmd import add_plan
    from multidc.sandbox_cmd import add_sandbox

    return [add_validate, add_plan, add_sandbox]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multidc", description="Multi-datacenter Cassandra rings across Kubernetes clusters."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in subcommands():
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors and --help: return the code instead of exiting
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_INVALID
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
