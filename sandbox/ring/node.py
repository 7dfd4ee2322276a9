"""One simulated Cassandra node: its configuration (from env and cassandra.yaml) and its state."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

from sandbox.ring.config_keys import unknown_keys_error
from sandbox.ring.image import DEFAULT_IMAGE, RACKDC, YAML, entrypoint, image_version, properties, stock_etc

GPFS = "GossipingPropertyFileSnitch"
DEFAULT_CLUSTER_NAME = "Test Cluster"  # Config.java's default when cassandra.yaml has no cluster_name
DEFAULT_NUM_TOKENS = 1  # DatabaseDescriptor: a cassandra.yaml without num_tokens gives one token
# DatabaseDescriptor.applySeedProvider's refusal when cassandra.yaml names no seed provider.
NO_SEEDS = "seeds configuration is missing; a minimum of one seed is required."


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
    version: str = "5.0"  # major.minor of the image
    auto_bootstrap: bool = True  # Config.java `auto_bootstrap = true`; false: join owning ranges, stream nothing


def _short_class(name: object) -> str:
    return str(name).rsplit(".", 1)[-1].strip()


Conf = str | dict[str, str] | None


def parse_config(ip: str, env: dict[str, str], conf: Conf, image: str = DEFAULT_IMAGE) -> NodeConfig:
    """Config as the node reads it after the image's entrypoint ran; ValueError with Cassandra's wording.

    `conf` is the container's /etc/cassandra: None for the image's own, a dict (file name -> text)
    for a mounted directory, or the text of a cassandra.yaml laid over the image's own directory.
    """
    version = image_version(image)
    etc = stock_etc(version) if conf is None else dict(conf) if isinstance(conf, dict) else {
        **stock_etc(version), YAML: conf}
    etc = entrypoint(etc, env, ip)
    try:
        loaded = yaml.safe_load(etc[YAML])
    except yaml.YAMLError as e:
        raise ValueError(f"Invalid yaml: {e}") from e
    if loaded is not None and not isinstance(loaded, dict):
        raise ValueError("Invalid yaml: cassandra.yaml must be a mapping")
    conf_map: dict[str, Any] = loaded or {}
    refusal = unknown_keys_error(version, conf_map)
    if refusal:
        raise ValueError(refusal)
    if not conf_map.get("seed_provider"):
        raise ValueError(NO_SEEDS)
    cluster_name = str(conf_map.get("cluster_name") or DEFAULT_CLUSTER_NAME)
    snitch = _short_class(conf_map.get("endpoint_snitch") or "SimpleSnitch")
    seeds = [s.strip().rsplit(":", 1)[0] if s.count(":") == 1 else s.strip()
             for s in _yaml_seeds(conf_map).split(",") if s.strip()]
    tokens_text = conf_map.get("num_tokens") or DEFAULT_NUM_TOKENS
    try:
        num_tokens = int(tokens_text)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Invalid yaml: num_tokens {tokens_text!r} is not a number") from e
    auth_conf = conf_map.get("authenticator") or "AllowAllAuthenticator"
    if isinstance(auth_conf, dict):  # 5.0 form: authenticator: {class_name: ...}
        auth_conf = auth_conf.get("class_name", "AllowAllAuthenticator")
    auth = _short_class(auth_conf) == "PasswordAuthenticator"
    if snitch == GPFS:
        # Only GossipingPropertyFileSnitch reads cassandra-rackdc.properties.
        rackdc = properties(etc.get(RACKDC, ""))
        dc, rack = rackdc.get("dc", "dc1"), rackdc.get("rack", "rack1")
    else:
        dc, rack = "datacenter1", "rack1"  # SimpleSnitch and friends ignore cassandra-rackdc.properties
    auto_bootstrap = conf_map.get("auto_bootstrap", True)
    if not isinstance(auto_bootstrap, bool):
        raise ValueError(f"Invalid yaml: auto_bootstrap {auto_bootstrap!r} is not a boolean")
    return NodeConfig(cluster_name, dc, rack, seeds, num_tokens, auth, snitch, version, auto_bootstrap)


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
    role_setup_at: float = 0.0  # when CassandraRoleManager's setup task runs (0: none pending)
    gossip_at: float = 0.0  # when the ring first heard of it (its first start in the ring)
    # Gossiper's seed set: the other seeds' addresses as resolved at its last start (or reloadseeds)
    seed_ips: list[str] = field(default_factory=list)
    seed_names: list[str] = field(default_factory=list)  # the same, as nodetool prints them
    # "ks/table/key" -> newest timestamp of the partition when an incremental repair marked it repaired
    repaired: dict[str, int] = field(default_factory=dict)
    # keyspace -> table -> partition key (JSON text) -> partition (see storage.py)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    # native-protocol connections from applications' drivers (clients.connection), closed when the JVM stops
    clients: list[dict[str, str]] = field(default_factory=list)

    @property
    def token(self) -> int:
        """Stable ring position, used to order nodes (stands in for the node's token ranges)."""
        return int(hashlib.sha256(self.host_id.encode()).hexdigest()[:15], 16)

    def note(self, *lines: str) -> None:
        self.log.extend(lines)
        del self.log[:-200]  # bounded: only the recent lines matter for pod logs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Node:
        d = dict(d)
        d["config"] = NodeConfig(**d["config"])
        return cls(**d)
