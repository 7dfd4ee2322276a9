"""multidc_core.clientstats against `nodetool clientstats --all` as ClientStats.java prints it, and the sandbox's."""

import pytest

from multidc_core.clientstats import parse_clientstats
from sandbox.ring import clients
from sandbox.ring.node import Node, NodeConfig

# TableBuilder: every column padded to its widest cell, one space between; a driver name has spaces
# (the pad after the last column is dropped here; the sandbox test below keeps it).
REAL = """\
Address            SSL   Cipher    Protocol  Version User      Keyspace     Requests Driver-Name                                  Driver-Version
/10.2.0.40:52344   false undefined undefined 5       app       customers_ks 1742     DataStax Java driver for Apache Cassandra(R) 4.17.0
/10.1.0.23:40012   false undefined undefined 5       cassandra              3        undefined                                    undefined

Total connected clients: 2

User      Connections
app       1
cassandra 1
"""


def test_the_all_table_is_read_by_column_even_where_a_cell_has_spaces() -> None:
    found = parse_clientstats(REAL)
    assert [(c.ip, c.user, c.keyspace, c.requests, c.driver) for c in found] == [
        ("10.2.0.40", "app", "customers_ks", "1742", "DataStax Java driver for Apache Cassandra(R) 4.17.0"),
        ("10.1.0.23", "cassandra", "", "3", "undefined undefined"),
    ]
    assert found[0].describe() == ("10.2.0.40 (user app, keyspace customers_ks, "
                                   "DataStax Java driver for Apache Cassandra(R) 4.17.0, 1742 requests)")


def test_nothing_connected_prints_no_table_and_other_output_is_refused() -> None:
    assert parse_clientstats("Total connected clients: 0\n\nUser Connections\n") == []
    with pytest.raises(ValueError, match="not nodetool clientstats output"):
        parse_clientstats("nodetool: Found unexpected parameters: [clientstats]\n")


def test_the_sandbox_prints_what_the_parser_reads() -> None:
    node = Node("c/ns/p", "10.1.0.5", NodeConfig("c", "dc1", "rack1", [], 16, True, "GossipingPropertyFileSnitch"))
    node.clients = [clients.connection("10.2.0.40", 52344, user="app", keyspace="customers_ks",
                                       driver="DataStax Java driver for Apache Cassandra(R)", driver_version="4.17.0"),
                    clients.connection("10.2.0.41", 40100)]
    res = clients.clientstats(node, ["--all"])
    assert res.returncode == 0
    assert "Total connected clients: 2\n" in res.stdout and "anonymous 1" in res.stdout
    assert [(c.ip, c.user, c.driver) for c in parse_clientstats(res.stdout)] == [
        ("10.2.0.40", "app", "DataStax Java driver for Apache Cassandra(R) 4.17.0"),
        ("10.2.0.41", "anonymous", "undefined undefined"),
    ]
    assert parse_clientstats(clients.clientstats(node, []).stdout) == []  # the table only with --all
