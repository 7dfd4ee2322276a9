"""What runs in a sandbox pod: a simulated Cassandra node when the pod is a Cassandra one."""

from __future__ import annotations

from typing import Any

from sandbox.kube.runtime import ExecResult
from sandbox.ring.cluster import RingSim
from sandbox.ring.network import Network

NOT_CASSANDRA = "OCI runtime exec failed: the sandbox runs only Cassandra tools and getent in pods"


def node_id(cluster: str, pod: dict[str, Any]) -> str:
    return f"{cluster}/{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def _is_cassandra(pod: dict[str, Any]) -> bool:
    containers = pod.get("spec", {}).get("containers") or []
    return any("cassandra" in str(c.get("image", "")) for c in containers)


def _cassandra_yaml(files: dict[str, str]) -> str | None:
    # The ConfigMap is mounted in the init container and copied into /etc/cassandra: any mount counts.
    for path in sorted(files):
        if path.endswith("/cassandra.yaml"):
            return files[path]
    return None


class CassandraRuntime:
    """PodRuntime for the Kubernetes emulator: Cassandra images become RingSim nodes; other pods just run."""

    def __init__(self, ring: RingSim, network: Network) -> None:
        self.ring = ring
        self.network = network

    def start(
        self, cluster: str, pod: dict[str, Any], env: dict[str, str], files: dict[str, str]
    ) -> str | None:
        if not _is_cassandra(pod):
            return None
        ip = pod.get("status", {}).get("podIP", "")
        with self.network.steady():
            return self.ring.start_node(node_id(cluster, pod), ip, env, _cassandra_yaml(files))

    def ready(self, cluster: str, pod: dict[str, Any]) -> bool:
        return not _is_cassandra(pod) or self.ring.is_ready(node_id(cluster, pod))

    def exec(
        self, cluster: str, pod: dict[str, Any], container: str, argv: list[str], env: dict[str, str]
    ) -> ExecResult:
        with self.network.steady():
            if not _is_cassandra(pod):
                return self._generic_exec(pod, argv)
            result = self.ring.exec(node_id(cluster, pod), argv, env)
        return ExecResult(result.returncode, result.stdout, result.stderr)

    def _generic_exec(self, pod: dict[str, Any], argv: list[str]) -> ExecResult:
        # Any Debian-based image has glibc's getent: the DNS check runs it in a small probe pod.
        if len(argv) >= 3 and argv[:2] == ["getent", "hosts"]:
            # glibc: one "address  name" line per key found, in order; exit 2 when any is not.
            me = pod.get("status", {}).get("podIP", "")
            found = [(name, self.network.resolve(me, name)) for name in argv[2:]]
            out = "".join(f"{ip}       {name}\n" for name, ip in found if ip)
            return ExecResult(0 if all(ip for _, ip in found) else 2, out)
        if len(argv) >= 3 and argv[:2] == ["getent", "ahostsv4"]:
            # glibc: each address once per socket type, the canonical name on its first line only.
            me = pod.get("status", {}).get("podIP", "")
            found = [(name, self.network.resolve(me, name)) for name in argv[2:]]
            out = "".join(
                f"{ip:<15} STREAM {name}\n{ip:<15} DGRAM  \n{ip:<15} RAW    \n" for name, ip in found if ip
            )
            return ExecResult(0 if all(ip for _, ip in found) else 2, out)
        if argv[:1] == ["true"] or argv[:1] == ["sleep"]:
            return ExecResult(0, "")
        return ExecResult(126, "", NOT_CASSANDRA + "\n")

    def stop(self, cluster: str, pod: dict[str, Any]) -> None:
        if _is_cassandra(pod):
            self.ring.stop_node(node_id(cluster, pod))
