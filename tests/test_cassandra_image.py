"""cassandra.yaml per Cassandra version, and the official image's start-up as the sandbox runs it."""

from __future__ import annotations

import pytest
import yaml

from multidc_core.cassandra_config import cassandra_yaml
from multidc_core.load import load_spec
from multidc_core.problems import SpecError
from multidc_core.spec import RingSpec
from sandbox.ring.image import stock_yaml
from sandbox.ring.node import NO_SEEDS
from sandbox.ring.testing import make_world
from tests.ring_fixtures import EXAMPLES


def _spec(image: str, version: str | None = None) -> RingSpec:
    raw = yaml.safe_load((EXAMPLES / "sandbox.yaml").read_text())
    raw.setdefault("cassandra", {})["image"] = image
    if version is not None:
        raw["cassandra"]["version"] = version
    return load_spec(yaml.safe_dump(raw))


@pytest.mark.parametrize(("image", "version"), [
    ("cassandra:4.0", None), ("cassandra:4.0.13", None), ("cassandra:4.1", None), ("cassandra:5.0.8", None),
    ("cassandra:latest", "4.0"), ("registry.example.com:5000/cassandra@sha256:" + "0" * 64, "4.1"),
])
def test_each_supported_image_starts_on_the_cassandra_yaml_rendered_for_it(image: str, version: str | None) -> None:
    spec = _spec(image, version)
    world = make_world(("dc1",), nodes=1, cluster_name=spec.name)
    pod = world.pod("dc1")
    run_as = image if version is None else f"cassandra:{version}"
    assert world.sim.start_node(pod.node_id, pod.ip, pod.env, cassandra_yaml(spec, spec.datacenters[0]),
                                run_as) is None
    node = world.sim.nodes[pod.node_id]
    assert node.up and node.config.cluster_name == spec.name and node.config.auth


def test_cassandra_4_0_refuses_the_4_1_names_with_cassandras_message() -> None:
    world = make_world(("dc1",), nodes=1)
    pod = world.pod("dc1")
    text = cassandra_yaml(_spec("cassandra:5.0"), _spec("cassandra:5.0").datacenters[0])
    crash = world.sim.start_node(pod.node_id, pod.ip, pod.env, text, "cassandra:4.0")
    assert crash is not None and crash.startswith(
        "Exception (org.apache.cassandra.exceptions.ConfigurationException) encountered during startup: "
        "Invalid yaml. Please remove properties [batch_size_fail_threshold, batch_size_warn_threshold, "
        "commitlog_segment_size, commitlog_sync_period, compaction_throughput, credentials_validity, ")
    assert crash.endswith(", write_request_timeout] from your cassandra.yaml")
    # Thrift's start_rpc left 4.0: an old file that still has it is refused by every simulated version.
    crash = world.sim.start_node(pod.node_id, pod.ip, pod.env, stock_yaml("5.0") + "start_rpc: false\n")
    assert crash is not None and "Please remove properties [start_rpc]" in crash


@pytest.mark.parametrize(("image", "version", "path"), [
    ("cassandra:3.11", None, "cassandra.image"),
    ("cassandra:latest", None, "cassandra.version"),
    ("cassandra@sha256:" + "0" * 64, None, "cassandra.version"),
    ("cassandra:4.0", "4.1", "cassandra.version"),
    ("cassandra:5", "6.0", "cassandra.version"),
])
def test_an_image_without_a_supported_version_is_refused_naming_the_field(
    image: str, version: str | None, path: str
) -> None:
    with pytest.raises(SpecError) as err:
        _spec(image, version)
    assert [p.path for p in err.value.problems] == [path]
    assert "4.0, 4.1" in str(err.value) or "differs" in str(err.value)


def test_the_entrypoint_writes_env_only_where_cassandra_yaml_has_the_line() -> None:
    world = make_world(("dc1",), nodes=3, racks=1)
    seed, seed2, joiner = world.dc_pods("dc1")
    assert world.start_pod(seed) is None and world.start_pod(seed2) is None
    # No cluster_name line: CASSANDRA_CLUSTER_NAME is not written, the node is "Test Cluster" and gossip
    # with the seed fails on the name.
    text = seed.yaml.replace("cluster_name: 'Test Cluster'\n", "")
    crash = world.sim.start_node(joiner.node_id, joiner.ip, joiner.env, text)
    assert crash is not None and "Unable to contact any seeds" in crash and "ClusterName mismatch" in crash
    assert world.sim.nodes[joiner.node_id].config.cluster_name == "Test Cluster"
    # A seed list not on a `- seeds:` line keeps the file's seeds: here the stock 127.0.0.1.
    text = seed.yaml.replace('      - seeds: "127.0.0.1:7000"\n', '      - {seeds: "127.0.0.1:7000"}\n')
    world.sim.remove_node(joiner.node_id)
    crash = world.sim.start_node(joiner.node_id, joiner.ip, joiner.env, text)
    assert crash is not None and "127.0.0.1: loopback" in crash
    # The commented placeholder counts: `# num_tokens:` becomes num_tokens from the env.
    text = seed.yaml.replace("num_tokens: 16", "# num_tokens: 256")
    world.sim.remove_node(joiner.node_id)
    assert world.sim.start_node(joiner.node_id, joiner.ip, dict(joiner.env, CASSANDRA_NUM_TOKENS="8"), text) is None
    assert world.sim.nodes[joiner.node_id].config.num_tokens == 8


def test_without_a_seed_provider_cassandra_refuses_to_start() -> None:
    world = make_world(("dc1",), nodes=1)
    pod = world.pod("dc1")
    text = pod.yaml.split("seed_provider:")[0] + "storage_port: 7000\n"
    crash = world.sim.start_node(pod.node_id, pod.ip, pod.env, text)
    assert crash is not None and crash.endswith(NO_SEEDS)


def test_dc_and_rack_come_from_cassandra_rackdc_properties() -> None:
    world = make_world(("dc1",), nodes=1)
    pod = world.pod("dc1")
    env = dict(pod.env, CASSANDRA_DC="east", CASSANDRA_RACK="r7")
    # The image's own /etc/cassandra: the entrypoint edits its rackdc file.
    assert world.sim.start_node(pod.node_id, pod.ip, env, pod.yaml) is None
    assert (world.sim.nodes[pod.node_id].config.dc, world.sim.nodes[pod.node_id].config.rack) == ("east", "r7")
    # A mounted /etc/cassandra with cassandra.yaml only: sed fails on the missing rackdc file (set -e).
    world.sim.remove_node(pod.node_id)
    crash = world.sim.start_node(pod.node_id, pod.ip, env, {"cassandra.yaml": pod.yaml})
    assert crash == "sed: can't read /etc/cassandra/cassandra-rackdc.properties: No such file or directory"
