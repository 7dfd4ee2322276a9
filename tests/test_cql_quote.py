"""CQL quoting: identifiers, literals, replication maps and the shell word cqlsh -e gets."""

import pytest

from multidc_core import cql
from sandbox.ring.cql_parse import parse_statement, split_statements
from sandbox.ring.shell import split


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("customers_ks", '"customers_ks"'), ("MixedCase", '"MixedCase"'), ('a"b', '"a""b"'), ("x y", '"x y"')],
)
def test_identifiers_are_double_quoted_with_quotes_doubled(name: str, quoted: str) -> None:
    assert cql.quote_identifier(name) == quoted


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("dc1", "'dc1'"), ("it's", "'it''s'"), ("''", "''''''"), ("", "''")],
)
def test_literals_are_single_quoted_with_quotes_doubled(value: str, quoted: str) -> None:
    assert cql.quote_literal(value) == quoted


def test_empty_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        cql.quote_identifier("")


def test_replication_map_keeps_order_and_quotes_dc_names() -> None:
    assert cql.replication({"dc2": 3, "o'dc": 1}) == (
        "{'class': 'NetworkTopologyStrategy', 'dc2': 3, 'o''dc': 1}"
    )


@pytest.mark.parametrize("bad", [{}, {"dc1": -1}, {"dc1": True}, {"dc1": "3"}])
def test_replication_map_refuses_bad_counts(bad: dict) -> None:
    with pytest.raises(ValueError):
        cql.replication(bad)


def test_statements_parse_back_to_the_same_names() -> None:
    # The sandbox parser tokenizes like Cassandra: the quoted names come back verbatim.
    tricky = 'ks"; DROP KEYSPACE x; --'
    [create, alter] = [split_statements(s)[0] for s in cql.ensure_keyspace(tricky, {"dc'1": 3})]
    st = parse_statement(create)
    assert st.kind == "create_keyspace" and st.keyspace == tricky and st.if_flag
    assert parse_statement(alter).keyspace == tricky
    assert len(split_statements(cql.script(cql.ensure_keyspace(tricky, {"dc1": 1})))) == 2


def test_script_ends_every_statement_once() -> None:
    assert cql.script(["A;", "B"]) == "A; B;"


@pytest.mark.parametrize("text", ['say "hi"', "cost $5 `x`", "back\\slash", "it's"])
def test_shell_double_quoted_word_survives_sh(text: str) -> None:
    [(_, argv)] = split("echo " + cql.shell_double_quoted(text), {"5": "no"})
    assert argv == ["echo", text]


SCHEMA = """
 keyspace_name      | replication
--------------------+---------------------------------------------------------------------------------------
        system_auth | {'class': 'org.apache.cassandra.locator.NetworkTopologyStrategy', 'dc1': '3', 'dc2': '3'}
      system_traces | {'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '2'}
              o_ks  | {'class': 'org.apache.cassandra.locator.NetworkTopologyStrategy', 'it''s': '1'}

(3 rows)
"""


def test_replication_rows_as_cqlsh_prints_them() -> None:
    rows = cql.parse_replication_rows(SCHEMA)
    assert rows["system_traces"] == {
        "class": "org.apache.cassandra.locator.SimpleStrategy",
        "replication_factor": "2",
    }
    assert rows["o_ks"]["it's"] == "1"
    assert cql.replication_matches(rows["system_auth"], {"dc1": 3, "dc2": 3})
    assert not cql.replication_matches(rows["system_auth"], {"dc1": 3})
    assert not cql.replication_matches(rows["system_auth"], {"dc1": 3, "dc2": 2})
    assert not cql.replication_matches(rows["system_traces"], {"dc1": 2})
    assert not cql.replication_matches(rows.get("missing"), {"dc1": 1})
