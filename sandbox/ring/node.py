"""One simulated Cassandra node: its configuration (from env and cassandra.yaml) and its state."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

GPFS = "GossipingPropertyFileSnitch"
DEFAULT_CLUSTER_NAME = "Test Cluster"  # cassandra.yaml's default, kept by the docker entrypoint
DEFAULT_NUM_TOKENS = 16  # cassandra.yaml default since 4.0


@dataclass
class NodeConfig:
    """What the node reads at start, resolved the way the official image's entrypoint does."""

    cluster_name: str
    dc: str
    rack: str
    seeds: list[str]
    num_tokens: int
    auth: bool
    snitch: str


def _short_class(name: object) -> str:
    return str(name).rsplit(".", 1)[-1].strip()


def parse_config(ip: str, env: dict[str, str], cassandra_yaml: str | None) -> NodeConfig:
    """Config as the node sees it; raises ValueError with Cassandra's wording on a bad cassandra.yaml."""
    conf: dict[str, Any] = {}
    if cassandra_yaml:
        try:
            loaded = yaml.safe_load(cassandra_yaml)
        except yaml.YAMLError as e:
            raise ValueError(f"Invalid yaml. Please remove properties from cassandra.yaml: {e}") from e
        if loaded is not None and not isinstance(loaded, dict):
            raise ValueError("Invalid yaml: cassandra.yaml must be a mapping")
        conf = loaded or {}
    # The entrypoint writes env values into cassandra.yaml, so env wins over the file.
    cluster_name = env.get("CASSANDRA_CLUSTER_NAME") or str(conf.get("cluster_name") or DEFAULT_CLUSTER_NAME)
    snitch = _short_class(env.get("CASSANDRA_ENDPOINT_SNITCH") or conf.get("endpoint_snitch") or "SimpleSnitch")
    seeds_text = env.get("CASSANDRA_SEEDS") or _yaml_seeds(conf) or ip  # the image defaults to itself
    seeds = [s.strip() for s in seeds_text.split(",") if s.strip()]
    tokens_text = env.get("CASSANDRA_NUM_TOKENS") or conf.get("num_tokens") or DEFAULT_NUM_TOKENS
    try:
        num_tokens = int(tokens_text)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Invalid yaml: num_tokens {tokens_text!r} is not a number") from e
    auth_conf = conf.get("authenticator") or "AllowAllAuthenticator"
    if isinstance(auth_conf, dict):  # 5.0 form: authenticator: {class_name: ...}
        auth_conf = auth_conf.get("class_name", "AllowAllAuthenticator")
    auth = _short_class(auth_conf) == "PasswordAuthenticator"
    if snitch == GPFS:
        # Only GossipingPropertyFileSnitch reads cassandra-rackdc.properties (dc1/rack1 by default).
        dc = env.get("CASSANDRA_DC") or "dc1"
        rack = env.get("CASSANDRA_RACK") or "rack1"
    else:
        dc, rack = "datacenter1", "rack1"  # SimpleSnitch and friends ignore CASSANDRA_DC/RACK
    return NodeConfig(cluster_name, dc, rack, seeds, num_tokens, auth, snitch)


def _yaml_seeds(conf: dict[str, Any]) -> str:
    try:
        return str(conf["seed_provider"][0]["parameters"][0]["seeds"])
    except (KeyError, IndexError, TypeError):
        return ""


@dataclass
class Node:
    """A node's durable state (as on its volume) plus whether its JVM is running."""

    node_id: str
    ip: str
    config: NodeConfig
    host_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    up: bool = False
    ring_id: str | None = None
    joining_until: float = 0.0  # bootstrap ends at this clock time; UJ before, UN after
    gossip_at: float = 0.0  # when the ring first heard of it (its first start in the ring)
    # "ks/table/key" -> newest timestamp of the partition when an incremental repair marked it repaired
    repaired: dict[str, int] = field(default_factory=dict)
    # keyspace -> table -> partition key (JSON text) -> partition (see storage.py)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    @property
    def token(self) -> int:
        """Stable ring position, used to order nodes (stands in for the node's token ranges)."""
        return int(hashlib.sha256(self.host_id.encode()).hexdigest()[:15], 16)

    def note(self, line: str) -> None:
        self.log.append(line)
        del self.log[:-50]  # bounded: only the recent lines matter for pod logs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Node:
        d = dict(d)
        d["config"] = NodeConfig(**d["config"])
        return cls(**d)
