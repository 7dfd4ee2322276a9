"""A small world of DCs for tests and demos: pods, names and env the way multidc lays them out."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.clock import Clock
from sandbox.ring.cluster import ExecResult, RingSim
from sandbox.ring.image import stock_yaml
from sandbox.ring.network import InMemoryNetwork

# The image's stock cassandra.yaml with the authenticator chosen: the entrypoint seds the env into it.
OPEN_YAML = stock_yaml("4.1")
AUTH_YAML = OPEN_YAML.replace("authenticator: AllowAllAuthenticator", "authenticator: PasswordAuthenticator")


@dataclass
class Pod:
    node_id: str
    ip: str
    fqdn: str
    dc: str
    env: dict[str, str]
    yaml: str


@dataclass
class World:
    sim: RingSim
    net: InMemoryNetwork
    pods: list[Pod] = field(default_factory=list)

    def dc_pods(self, dc: str) -> list[Pod]:
        return [p for p in self.pods if p.dc == dc]

    def pod(self, dc: str, i: int = 0) -> Pod:
        return self.dc_pods(dc)[i]

    def start(self, dc: str | None = None) -> dict[str, str | None]:
        """Start pods in StatefulSet order; returns each node's crash message (None: running)."""
        return {
            p.node_id: self.start_pod(p)
            for p in self.pods
            if dc in (None, p.dc)
        }

    def start_pod(self, pod: Pod) -> str | None:
        return self.sim.start_node(pod.node_id, pod.ip, pod.env, pod.yaml)

    def sh(self, pod: Pod, script: str) -> ExecResult:
        return self.sim.exec(pod.node_id, ["sh", "-c", script], pod.env)

    def cql(self, pod: Pod, statements: str, user: str | None = None, password: str | None = None) -> ExecResult:
        argv = ["cqlsh", pod.ip]
        if user is not None:
            argv += ["-u", user, "-p", password or ""]
        return self.sim.exec(pod.node_id, [*argv, "-e", statements], pod.env)


def make_world(
    dcs: tuple[str, ...] = ("dc1", "dc2"),
    nodes: int = 3,
    racks: int = 3,
    *,
    connected: bool = True,
    dns: bool = True,
    auth: bool = False,
    snitch: str = "GossipingPropertyFileSnitch",
    cluster_name: str = "ring1",
    clock: Clock | None = None,
) -> World:
    """DC k lives in cluster "aks-<dc>", namespace <dc>, pod IPs 10.<k+1>.0.x, seeds = 2 pods per DC."""
    net = InMemoryNetwork()
    world = World(RingSim(net, clock), net)
    layout: dict[str, list[tuple[str, str, str, str]]] = {}
    for k, dc in enumerate(dcs):
        for i in range(nodes):
            rack = f"rack{i % racks}"
            pod = f"cassandra-{rack}-{i // racks}"
            fqdn = f"{pod}.cassandra.{dc}.svc.cluster.local"
            layout.setdefault(dc, []).append((f"aks-{dc}/{dc}/{pod}", f"10.{k + 1}.0.{10 + i}", fqdn, rack))
    seeds = ",".join(fqdn for dc in dcs for _, _, fqdn, _ in layout[dc][:2])
    for dc in dcs:
        for node_id, ip, fqdn, rack in layout[dc]:
            net.add(f"aks-{dc}", ip, fqdn)
            env = {
                "CASSANDRA_SEEDS": seeds,
                "CASSANDRA_CLUSTER_NAME": cluster_name,
                "CASSANDRA_DC": dc,
                "CASSANDRA_RACK": rack,
                "CASSANDRA_ENDPOINT_SNITCH": snitch,
                "MAX_HEAP_SIZE": "512M",
                "HEAP_NEWSIZE": "128M",
                "POD_IP": ip,
                "CASSANDRA_ADMIN_USER": "admin",
                "CASSANDRA_ADMIN_PASSWORD": "s3cr3t pass",
            }
            world.pods.append(Pod(node_id, ip, fqdn, dc, env, AUTH_YAML if auth else OPEN_YAML))
    if connected:
        for i, a in enumerate(dcs):
            for b in dcs[i + 1 :]:
                net.link(f"aks-{a}", f"aks-{b}", dns=dns)
    return world
