"""Bad input: every invalid spec is refused by load_spec naming the field, echoing nothing raw;
what is accepted stays data (a lookup key, a quoted CQL identifier, one sh word), never code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from multidc_core import cql
from multidc_core.load import load_spec
from multidc_core.spec import Provider
from tests.paths import ROOT
from tests.reliability_inputs import (
    EXISTING_SPEC,
    NASTY,
    Case,
    attempt,
    cases,
    leaks,
    ok,
    sinks_of_accepted,
)

CASES = cases()


def test_the_table_covers_the_corpus_every_name_field_and_every_nasty_value() -> None:
    groups = {c.group for c in CASES}
    assert groups == {"invalid corpus", "name fields", "types and sizes", "malformed"}
    assert sum(c.group == "invalid corpus" for c in CASES) == len(
        list((ROOT / "tests/specs/invalid").glob("*.yaml"))
    )
    assert sum(c.group == "name fields" for c in CASES) == 11 * len(NASTY)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.group}: {c.name}")
def test_refused_naming_the_field_without_echoing_the_raw_value(case: Case) -> None:
    outcome = attempt(case)
    assert ok(outcome), (outcome.rejected, outcome.named, outcome.leaked, outcome.message)


def test_leak_check_catches_a_raw_echo_and_a_newline() -> None:
    assert leaks("; rm -rf /", "name: ; rm -rf / is bad")
    assert not leaks("; rm -rf /", "name: '; rm -rf /' is bad")
    assert leaks("a\nb", "name: a\nb is bad")
    assert not leaks("a\nb", "name: 'a\\nb' is bad")


ACCEPTED = [c for c in CASES if c.field is None]


def test_only_the_kubeconfig_lookup_keys_accept_shell_looking_text() -> None:
    accepted = {c.name.split(":")[0] for c in ACCEPTED if not attempt(c).rejected}
    assert accepted == {"context", "kubeconfig path"}


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_an_accepted_value_stays_data_in_cql_and_sh(case: Case) -> None:
    assert case.raw is not None
    for where, check in sinks_of_accepted(case.raw):
        assert check(), f"{case.raw!r} is not kept whole as a {where}"


def test_an_accepted_context_is_only_a_key_into_the_kubeconfig(tmp_path: Path) -> None:
    """The kubernetes client picks the context by name: the text is matched, never run."""
    from tasks.kube_access import api_for

    context = 'ctx\'; rm -rf / $(reboot) `id` "q"'
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
                "current-context": context,
            }
        )
    )
    data = yaml.safe_load(EXISTING_SPEC.read_text())
    for dc in data["datacenters"]:
        dc["kubeconfig"]["path"], dc["kubeconfig"]["context"] = str(kubeconfig), context
    spec = load_spec(yaml.safe_dump(data))
    dc = spec.datacenters[0]
    assert (
        dc.provider is Provider.KUBECONFIG and dc.kubeconfig is not None and dc.kubeconfig.context == context
    )
    assert api_for(spec, dc).configuration.host == "https://127.0.0.1:1"


def test_keyspace_and_dc_names_reach_cql_only_quoted() -> None:
    stmt = cql.create_keyspace('a"b', {"d'c": 1})
    assert stmt == (
        'CREATE KEYSPACE IF NOT EXISTS "a""b" WITH replication = '
        "{'class': 'NetworkTopologyStrategy', 'd''c': 1}"
    )


PRODUCT = [p for d in ("tasks", "flows", "blocks", "multidc_core") for p in sorted((ROOT / d).glob("*.py"))]


def test_no_shell_is_ever_started_from_product_code() -> None:
    """No subprocess, os.system or shell=True: commands run in pods through exec argv lists."""
    for path in PRODUCT:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert "subprocess" not in names, path
            if isinstance(node, ast.keyword) and node.arg == "shell":
                raise AssertionError(f"{path}: shell= keyword")
            if isinstance(node, ast.Attribute) and node.attr in ("system", "popen"):
                raise AssertionError(f"{path}: os.{node.attr}")


def test_every_sh_c_in_product_code_quotes_what_it_interpolates() -> None:
    """The `sh -c` argv sites: constants, or CQL passed through cql.shell_double_quoted / an equivalent."""
    sites = {str(p.relative_to(ROOT)): len(re.findall(r'\["sh", "-c"', p.read_text())) for p in PRODUCT}
    assert {k: v for k, v in sites.items() if v} == {
        "multidc_core/manifests.py": 4,  # readiness probe, preStop, config copy, start gate: constants
        "tasks/cassandra_cql.py": 1,  # cqlsh -e cql.shell_double_quoted(...)
        "tasks/verify.py": 1,  # cqlsh -e "..." with \ " $ ` escaped
    }
    assert "cql.shell_double_quoted(cql.script(statements))" in (ROOT / "tasks/cassandra_cql.py").read_text()
    from tasks.verify import CqlLogin, cqlsh_argv

    argv = cqlsh_argv(CqlLogin.POD_ENV, "SELECT '$(reboot)`id`\"x\\'")
    assert argv[2].endswith('-e "SELECT \'\\$(reboot)\\`id\\`\\"x\\\\\'"')


@pytest.mark.usefixtures("prefect_harness")
def test_the_flow_refuses_a_bad_spec_before_any_cloud_call(tmp_path: Path) -> None:
    from flows.full import multidc
    from flows.spec_ref import SpecRef
    from multidc_core.problems import SpecError

    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load((ROOT / "examples" / "sandbox.yaml").read_text())
    data["datacenters"][0]["name"] = NASTY["command-substitution"]
    bad.write_text(yaml.safe_dump(data))
    # An AzureCloud block that does not exist: any cloud call would fail differently from a SpecError.
    state = multidc(spec=SpecRef(path=str(bad)), cloud_block="no-such-block", return_state=True)
    assert state.is_failed()
    with pytest.raises(SpecError) as caught:
        state.result()
    assert "datacenters[0].name: '$(reboot)' is not a DNS-1123 label" in str(caught.value)
