"""The bad-input table: every spec multidc must refuse, and where the values it accepts end up."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from multidc_core.load import load_spec
from multidc_core.problems import SpecError

ROOT = Path(__file__).resolve().parent.parent
INVALID = sorted((ROOT / "tests" / "specs" / "invalid").glob("*.yaml"))
AZURE_SPEC = ROOT / "examples" / "sandbox.yaml"
EXISTING_SPEC = ROOT / "examples" / "existing-clusters.yaml"

# Values that look like an attack on a shell, a manifest or CQL, or are merely not ASCII.
NASTY = {
    "shell-separator": "; rm -rf /",
    "command-substitution": "$(reboot)",
    "backquotes": "`reboot`",
    "double-quotes": 'dc"1',
    "single-quote": "it's",
    "newline": "dc1\nkind: Secret",
    "cql-injection": "'); DROP KEYSPACE x; --",
    "non-ascii": "dç1-ü",
    "nul-byte": "dc\x001",
    "spaces": "dc 1",
}

Path_ = tuple[str | int, ...]
# Name fields: (spec, path in the YAML data, the field path a problem must name).
NAME_FIELDS: dict[str, tuple[Path, Path_, str]] = {
    "ring": (AZURE_SPEC, ("name",), "name"),
    "dc": (AZURE_SPEC, ("datacenters", 0, "name"), "datacenters[0].name"),
    "namespace": (AZURE_SPEC, ("datacenters", 0, "namespace"), "datacenters[0].namespace"),
    "rack": (
        AZURE_SPEC,
        ("datacenters", 0, "cassandra", "racks", 0, "name"),
        "datacenters[0].cassandra.racks[0].name",
    ),
    "keyspace": (AZURE_SPEC, ("keyspaces", 0, "name"), "keyspaces[0].name"),
    "resource group": (
        AZURE_SPEC,
        ("datacenters", 0, "azure", "resource_group"),
        "datacenters[0].azure.resource_group",
    ),
    "storage class": (
        AZURE_SPEC,
        ("datacenters", 0, "cassandra", "storage_class"),
        "datacenters[0].cassandra.storage_class",
    ),
    "image": (AZURE_SPEC, ("cassandra", "image"), "cassandra.image"),
    "location": (AZURE_SPEC, ("datacenters", 0, "azure", "location"), "datacenters[0].azure.location"),
    "context": (
        EXISTING_SPEC,
        ("datacenters", 0, "kubeconfig", "context"),
        "datacenters[0].kubeconfig.context",
    ),
    "kubeconfig path": (
        EXISTING_SPEC,
        ("datacenters", 0, "kubeconfig", "path"),
        "datacenters[0].kubeconfig.path",
    ),
}
# Free-text fields whose value is only ever a lookup key for the kubernetes client (never a shell word,
# a manifest or CQL): printable values are accepted there; control characters are refused.
LOOKUP_ONLY = {"context", "kubeconfig path"}


@dataclass(frozen=True)
class Case:
    """One input: the spec text, the field a refusal must name, and the raw value that must not leak."""

    group: str
    name: str
    text: str
    field: str | None  # None: the case may be accepted (see LOOKUP_ONLY)
    raw: str | None = None


@dataclass(frozen=True)
class Outcome:
    case: Case
    rejected: bool
    named: bool  # a problem names the expected field
    leaked: bool  # the raw value appears outside a quoted repr, or a control character got through
    message: str


def _data(spec: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(spec.read_text()))


def _set(data: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    node[path[-1]] = value
    return out


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=False)


def _corpus() -> Iterator[Case]:
    for path in INVALID:
        first = next(
            (
                line.removeprefix("# expect: ").partition(": ")[0]
                for line in path.read_text().splitlines()
                if line.startswith("# expect: ")
            ),
            None,
        )
        yield Case("invalid corpus", path.stem, path.read_text(), first)


def _names() -> Iterator[Case]:
    for field, (spec, path, named) in NAME_FIELDS.items():
        for label, value in NASTY.items():
            if field == "keyspace" and label == "single-quote":
                value = "customers'ks"
            if field in LOOKUP_ONLY and value.isprintable():
                yield Case(
                    "name fields", f"{field}: {label}", _dump(_set(_data(spec), path, value)), None, value
                )
                continue
            yield Case(
                "name fields", f"{field}: {label}", _dump(_set(_data(spec), path, value)), named, value
            )


def _structure() -> Iterator[Case]:
    base = _data(AZURE_SPEC)
    dc0 = ("datacenters", 0)
    yield Case("malformed", "tab-indented YAML", "name: r\n\tdatacenters: []\n", "<document>")
    yield Case("malformed", "unclosed flow mapping", "name: {r\n", "<document>")
    yield Case(
        "malformed", "YAML python tag", "name: !!python/object/apply:os.system ['reboot']\n", "<document>"
    )
    yield Case("malformed", "binary garbage", "\x00\x01\x02", "<document>")
    yield Case("malformed", "a list", "- 1\n- 2\n", "<document>")
    yield Case("malformed", "billion laughs", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\nname: r\n", "a")
    for label, path, value, named in (
        ("nodes as text", (*dc0, "cassandra", "nodes"), "three", "datacenters[0].cassandra.nodes"),
        ("node_count as a list", (*dc0, "azure", "node_count"), [3], "datacenters[0].azure.node_count"),
        ("datacenters as a mapping", ("datacenters",), {"dc1": {}}, "datacenters"),
        ("keyspaces as text", ("keyspaces",), "customers_ks", "keyspaces"),
        # ipaddress would take the integer 10 as 0.0.0.10/32: the spec refuses numbers for addresses.
        ("vnet_cidr as a number", (*dc0, "azure", "vnet_cidr"), 10, "datacenters[0].azure.vnet_cidr"),
        ("replication as text", ("keyspaces", 0, "replication"), "3", "keyspaces[0].replication"),
        ("auth as text", ("cassandra", "auth"), "maybe", "cassandra.auth"),
        ("unknown top-level key", ("extra",), 1, "extra"),
        ("unknown dc key", (*dc0, "shell"), "rm -rf /", "datacenters[0].shell"),
        ("0 Cassandra nodes", (*dc0, "cassandra", "nodes"), 0, "datacenters[0].cassandra.nodes"),
        ("10,000 Cassandra nodes", (*dc0, "cassandra", "nodes"), 10_000, "datacenters[0].cassandra.nodes"),
        ("0 AKS nodes", (*dc0, "azure", "node_count"), 0, "datacenters[0].azure.node_count"),
        ("10,000 AKS nodes", (*dc0, "azure", "node_count"), 10_000, "datacenters[0].azure.node_count"),
        ("negative replication", ("keyspaces", 0, "replication", "dc1"), -1, "keyspaces[0].replication.dc1"),
        (
            "/8 VNet overlapping everything",
            (*dc0, "azure", "vnet_cidr"),
            "10.0.0.0/8",
            "datacenters[1].azure.vnet_cidr",
        ),
        (
            "/8 service CIDR",
            (*dc0, "azure", "service_cidr"),
            "10.0.0.0/8",
            "datacenters[0].azure.service_cidr",
        ),
        ("/0 node subnet", (*dc0, "azure", "node_subnet"), "0.0.0.0/0", "datacenters[0].azure.node_subnet"),
        ("no datacenters", ("datacenters",), [], "datacenters"),
        ("heap of 10,000 G", (*dc0, "cassandra", "heap"), "10000G", "datacenters[0].cassandra.heap"),
    ):
        yield Case("types and sizes", label, _dump(_set(base, path, value)), named)


def cases() -> list[Case]:
    return [*_corpus(), *_names(), *_structure()]


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def leaks(raw: str | None, message: str) -> bool:
    """True when a control character is in the message, or raw shows outside a quoted (repr) span."""
    if any(not line.isprintable() for line in message.split("\n")):
        return True
    if not raw or len(raw) < 3:
        return False
    return raw in _QUOTED.sub("", message.replace(repr(raw), ""))


def attempt(case: Case) -> Outcome:
    try:
        load_spec(case.text)
    except SpecError as exc:
        problems = exc.problems
        message = str(exc)
        named = case.field is None or any(
            p.path == case.field or p.path.startswith(case.field + ".") or p.path.startswith(case.field + "[")
            for p in problems
        )
        return Outcome(case, True, named, leaks(case.raw, message), message)
    return Outcome(case, False, False, False, "")


def ok(outcome: Outcome) -> bool:
    """Rejected, naming the field, leaking nothing; or (lookup-only fields) accepted."""
    if outcome.case.field is None:
        return not outcome.rejected or (outcome.named and not outcome.leaked)
    return outcome.rejected and outcome.named and not outcome.leaked


# --- where accepted values go: never a shell word, a manifest field or CQL unescaped ---------------


def sinks_of_accepted(value: str) -> list[tuple[str, Callable[[], bool]]]:
    """Checks for one accepted free-text value; each returns True when the value stays data."""
    from multidc_core import cql

    def cql_quoted() -> bool:
        # Were it a keyspace, the statement keeps it one quoted identifier.
        stmt = cql.create_keyspace(value, {"dc1": 3})
        return stmt.startswith(f"CREATE KEYSPACE IF NOT EXISTS {cql.quote_identifier(value)} WITH")

    def shell_word() -> bool:
        import subprocess

        # The one way a value may enter `sh -c` here: cql.shell_double_quoted; sh must give it back as is.
        out = subprocess.run(  # noqa: S603 - fixed argv, local sh
            ["sh", "-c", "printf %s " + cql.shell_double_quoted(value)],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return out.stdout == value

    return [("CQL identifier", cql_quoted), ("sh -c word", shell_word)]
