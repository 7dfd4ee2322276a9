"""multidc_core.nodetool.parse_status against real `nodetool status` output and the sandbox's own."""


import pytest

from multidc_core.nodetool import parse_status
from sandbox.clock import Clock
from sandbox.ring.nodetool import NOTE_MEANINGLESS as NOTE
from sandbox.ring.testing import make_world
from tests.paths import SEEDS as SEEDS_DIR

SEEDS = SEEDS_DIR

README_SAMPLE = """\
Datacenter: dc-eastus
=====================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address     Load       Tokens       Owns (effective)  Host ID                               Rack
UN  10.1.0.101  99.62 KiB  32           31.9%             4e3f087d-62b5-4def-a8db-59fc18e4c023  rack-1
UN  10.1.0.23   99.62 KiB  32           30.1%             15559b3a-ce06-4898-a952-8464ff884204  rack-0
UN  10.1.0.59   99.62 KiB  32           38.6%             5a03882d-cbea-4cdc-aefa-f75e98d8f728  rack-2
Datacenter: dc-southcentralus
=============================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address     Load       Tokens       Owns (effective)  Host ID                               Rack
UN  10.2.0.50   99.62 KiB  32           31.1%             1fde7c7b-dc7d-4344-9e71-d27d66313dd4  rack-0
UN  10.2.0.112  99.62 KiB  32           32.6%             e45c777f-3805-49cd-a13d-7a0da8c80a44  rack-1
UN  10.2.0.93   99.62 KiB  32           35.7%             117dad13-ebe4-49f3-9309-20aa35427f79  rack-2
"""

# The blog's copy, flattened to one line by the page (line breaks and padding lost).
BLOG_SAMPLE = (
    "Datacenter: AWS-1 ================= Status=Up/Down |/ State=Normal/Leaving/Joining/Moving -- Address "
    "Load Tokens Owns (effective) Host ID Rack UN 10.9.2.249 69.89 KiB 256 35.6% "
    "856df155-8bf8-4656-a504-a509d2816193 Rack1 UN 10.9.1.75 114.48 KiB 256 32.6% "
    "c64d4b37-4114-410a-ac15-6fac91525e13 Rack1 UN 10.9.1.225 103.67 KiB 256 34.4% "
    "64ab45b0-4ac7-4438-80c5-0f83084ef411 Rack1 Datacenter: AZURE-1 =================== Status=Up/Down "
    "|/ State=Normal/Leaving/Joining/Moving -- Address Load Tokens Owns (effective) Host ID Rack UN "
    "10.19.1.52 93.98 KiB 256 32.9% 04b5411a-ef91-4066-84cc-5ebd2b3ddad8 Rack1 UN 10.19.1.79 108.6 KiB "
    "256 32.3% 0aa07cbb-5e61-4707-9565-5b8e54e9c613 Rack1 UN 10.19.1.13 69.92 KiB 256 32.2% "
    "10aa0560-c9e1-4d83-855a-aca733789937 Rack1"
)

DOWN_AND_UNKNOWN = """\
Datacenter: dc1
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load       Tokens  Owns  Host ID                               Rack
UN  10.1.0.10  1.2 MiB    16      ?     4c8ad391-a5ce-4e0c-9242-6c3ab939b967  rack0
DN  10.1.0.11  ?          16      ?     22194045-86a2-4f52-abaf-279e6dd89f55  rack1
UJ  10.1.0.12  512 bytes  16      ?     8028f64c-2cd5-40ea-bb4e-b59b1269bc6e  rack2

Note: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless
"""


def test_readme_sample() -> None:
    nodes = parse_status(README_SAMPLE)
    assert [n.dc for n in nodes] == ["dc-eastus"] * 3 + ["dc-southcentralus"] * 3
    first = nodes[0]
    assert (first.code, first.address, first.load, first.tokens, first.owns, first.rack) == (
        "UN", "10.1.0.101", "99.62 KiB", 32, 31.9, "rack-1"
    )
    assert first.host_id == "4e3f087d-62b5-4def-a8db-59fc18e4c023"
    assert {n.rack for n in nodes} == {"rack-0", "rack-1", "rack-2"}


def test_readme_sample_from_seed_file_if_present() -> None:
    path = SEEDS / "readme-distributed-cassandra-azure.txt"
    if not path.exists():
        pytest.skip("seed file not on this machine")
    text = path.read_text()
    start = text.index("Datacenter: dc-eastus")
    end = text.index("\n\n", start)
    assert parse_status(text[start:end]) == parse_status(README_SAMPLE)


def test_blog_flattened_sample() -> None:
    nodes = parse_status(BLOG_SAMPLE)
    assert len(nodes) == 6
    assert [n.dc for n in nodes].count("AZURE-1") == 3
    assert all(n.code == "UN" and n.tokens == 256 and n.rack == "Rack1" for n in nodes)
    assert nodes[4].load == "108.6 KiB" and nodes[4].address == "10.19.1.79"


def test_down_joining_unknown_owns_and_note() -> None:
    nodes = parse_status(DOWN_AND_UNKNOWN)
    assert [n.code for n in nodes] == ["UN", "DN", "UJ"]
    assert all(n.owns is None for n in nodes)
    assert nodes[1].load == "?" and nodes[2].load == "512 bytes"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'.",
        "Datacenter: dc1\n===============\nUN 10.0.0.1",
        README_SAMPLE.replace("UN  10.1.0.23 ", "XX  10.1.0.23 "),
        README_SAMPLE.replace("31.9%", "lots"),
    ],
)
def test_garbage_raises(text: str) -> None:
    with pytest.raises(ValueError):
        parse_status(text)


def test_round_trip_of_the_sandbox_output() -> None:
    world = make_world()
    assert set(world.start().values()) == {None}
    pod = world.pod("dc1")
    world.sim.stop_node(world.pod("dc2", 1).node_id)
    out = world.sim.exec(pod.node_id, ["nodetool", "status"], pod.env).stdout
    nodes = parse_status(out)
    assert len(nodes) == 6
    by_ip = {n.address: n for n in nodes}
    assert by_ip[world.pod("dc2", 1).ip].code == "DN"
    for p in world.pods:
        node = world.sim.nodes[p.node_id]
        assert by_ip[p.ip].host_id == node.host_id
        assert by_ip[p.ip].rack == p.env["CASSANDRA_RACK"] and by_ip[p.ip].dc == p.dc


# Status.java (4.0-5.0) when the ring has no more tokens than DCs (here one node with num_tokens 1 per
# DC): no Tokens column, each node's first token after the Host ID; columns padded alike in every DC
# (TableBuilder.SharedTable); a blank line between DCs and one at the end.
PER_TOKEN = """\
Datacenter: aws-1
=================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load        Owns (effective)  Host ID                               Token                 Rack
UN  10.9.2.10  104.5 KiB   100.0%            9c1f2a4e-3b7d-4c55-8a0e-2f6d1b9e7a31  -7509452495886106294  rack1

Datacenter: azure-1
===================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load        Owns (effective)  Host ID                               Token                 Rack
?N  10.19.1.5  98.12 KiB   100.0%            0b6e1d2c-77aa-4f3e-9d10-5c4b3a2f1e0d  3074457345618258602   rack1

"""

# No effective ownership (keyspaces with different replication): "Owns" header, "?" values, the Note.
OWNS_NOT_EFFECTIVE = """\
Datacenter: dc1
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load       Tokens  Owns  Host ID                               Rack
UN  10.1.0.10  1.2 MiB    16      ?     4c8ad391-a5ce-4e0c-9242-6c3ab939b967  rack0
?J  10.1.0.12  512 bytes  16      ?     8028f64c-2cd5-40ea-bb4e-b59b1269bc6e  rack2

Datacenter: dc2
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load       Tokens  Owns  Host ID                               Rack
DN  10.2.0.11  ?          16      ?     22194045-86a2-4f52-abaf-279e6dd89f55  rack1

Note: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless
"""


def test_per_token_layout_and_unknown_status() -> None:
    nodes = parse_status(PER_TOKEN)
    assert [(n.dc, n.code, n.tokens, n.owns, n.rack) for n in nodes] == [
        ("aws-1", "UN", None, 100.0, "rack1"),
        ("azure-1", "?N", None, 100.0, "rack1"),
    ]
    assert nodes[0].token == "-7509452495886106294" and nodes[1].address == "10.19.1.5"
    assert nodes[1].status == "?"


def test_owns_without_effective_blank_lines_and_unknown_joiner() -> None:
    nodes = parse_status(OWNS_NOT_EFFECTIVE)
    assert [(n.dc, n.code) for n in nodes] == [("dc1", "UN"), ("dc1", "?J"), ("dc2", "DN")]
    assert all(n.owns is None and n.tokens == 16 for n in nodes)


def test_a_header_mixing_both_layouts_is_refused() -> None:
    mixed = PER_TOKEN.replace("Load        Owns", "Load  Tokens  Owns", 1)
    with pytest.raises(ValueError, match="aws-1"):
        parse_status(mixed)


def test_the_sandbox_prints_the_per_token_layout_when_tokens_do_not_outnumber_dcs() -> None:
    world = make_world(nodes=1)
    for p in world.pods:
        p.yaml = p.yaml.replace("num_tokens: 16", "num_tokens: 1")
    assert set(world.start().values()) == {None}
    pod = world.pod("dc1")
    out = world.sim.exec(pod.node_id, ["nodetool", "status"], pod.env).stdout
    header = [line for line in out.splitlines() if line.startswith("--")]
    assert len(header) == 2 and header[0] == header[1]  # one shared width for every DC
    assert header[0].split() == ["--", "Address", "Load", "Owns", "(effective)", "Host", "ID", "Token", "Rack"]
    nodes = parse_status(out)
    assert [(n.dc, n.code, n.tokens) for n in nodes] == [("dc1", "UN", None), ("dc2", "UN", None)]
    assert all(n.token is not None and -(2**63) <= int(n.token) < 2**63 for n in nodes)


def test_the_sandbox_prints_a_joiner_as_neither_live_nor_down_until_it_answers_gossip() -> None:
    world = make_world(dcs=("dc1",), nodes=3, clock=Clock(time_scale=1.0))
    seed, joiner = world.pod("dc1", 0), world.pod("dc1", 2)
    for p in (*world.pods[:2], joiner):
        assert world.sim.start_node(p.node_id, p.ip, p.env, p.yaml) is None
    out = world.sim.exec(seed.node_id, ["nodetool", "status"], seed.env).stdout
    by_ip = {n.address: n.code for n in parse_status(out)}
    assert by_ip[joiner.ip] == "?J" and by_ip[seed.ip] == "UN"


def test_the_sandbox_says_owns_not_effective_when_keyspaces_disagree() -> None:
    world = make_world()
    assert set(world.start().values()) == {None}
    pod = world.pod("dc1")
    ddl = (
        "CREATE KEYSPACE a WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 1};"
        "CREATE KEYSPACE b WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2};"
    )
    assert world.cql(pod, ddl).returncode in (0, 2)
    out = world.sim.exec(pod.node_id, ["nodetool", "status"], pod.env).stdout
    assert "  Owns  " in out and "Owns (effective)" not in out
    assert out.endswith("\n\n" + NOTE + "\n")
    assert all(n.owns is None for n in parse_status(out))
