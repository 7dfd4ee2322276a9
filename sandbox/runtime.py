"""What runs in a sandbox pod: a simulated Cassandra node when the pod is a Cassandra one."""

from __future__ import annotations

from typing import Any

from sandbox.kube.runtime import ExecResult
from sandbox.ring.cluster import RingSim
from sandbox.ring.image import DEFAULT_IMAGE, ETC, image_version, stock_etc
from sandbox.ring.network import Network

NOT_CASSANDRA = "OCI runtime exec failed: the sandbox runs only Cassandra tools and getent in pods"


def node_id(cluster: str, pod: dict[str, Any]) -> str:
    return f"{cluster}/{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def _is_cassandra(pod: dict[str, Any]) -> bool:
    containers = pod.get("spec", {}).get("containers") or []
    return any("cassandra" in str(c.get("image", "")) for c in containers)


def _etc_cassandra(pod: dict[str, Any], files: dict[str, str]) -> dict[str, str] | None:
    """The main container's /etc/cassandra: the mounted volume's files, or None for the image's own."""
    main = pod["spec"]["containers"][0]
    if not any(m.get("mountPath", "").rstrip("/") == ETC for m in main.get("volumeMounts") or []):
        return None
    prefix = ETC + "/"
    return {path[len(prefix):]: text for path, text in files.items() if path.startswith(prefix)}


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
            return self.ring.start_node(node_id(cluster, pod), ip, env, _etc_cassandra(pod, files),
                                        pod["spec"]["containers"][0].get("image", DEFAULT_IMAGE))

    def image_files(self, image: str) -> dict[str, str]:
        if "cassandra" not in image:
            return {}
        return {f"{ETC}/{name}": text for name, text in stock_etc(image_version(image)).items()}

    def ready(self, cluster: str, pod: dict[str, Any]) -> bool:
        return not _is_cassandra(pod) or self.ring.is_ready(node_id(cluster, pod))

    def exec(
        self, cluster: str, pod: dict[str, Any], container: str, argv: list[str], env: dict[str, str]
    ) -> ExecResult:
        with self.network.steady():
            if not _is_cassandra(pod):
                return self._generic_exec(pod, argv)
            result = self.ring.exec(node_id(cluster, pod), argv, env)
        return ExecResult(result.returncode, result.stdout, result.stderr, result.seconds)

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

    def logs(self, cluster: str, pod: dict[str, Any], container: str) -> list[str]:
        return self.ring.logs(node_id(cluster, pod)) if _is_cassandra(pod) else []

    def stop(self, cluster: str, pod: dict[str, Any]) -> None:
        if _is_cassandra(pod):
            self.ring.stop_node(node_id(cluster, pod))
