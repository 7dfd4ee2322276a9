"""The DNS probe pod: names resolved from inside a cluster, the way its pods resolve them."""

from __future__ import annotations

import ipaddress
from typing import Any

from kubernetes.client import ApiClient

from multidc_core import manifests
from multidc_core import naming as n
from multidc_core.spec import Datacenter, RingSpec
from tasks.kube_access import exec_in_pod
from tasks.kube_objects import KubeError, KubeWaits, apply_object, diagnose_pod
from tasks.kube_watch import watch_until

PROBE_CONTAINER = "probe"
# Debian ships glibc's getent, which resolves exactly as the Cassandra image's JVM does (NSS).
PROBE_IMAGE = "debian:bookworm-slim"
NOBODY_UID = 65534


def probe_pod(spec: RingSpec, d: Datacenter) -> dict[str, Any]:
    """A small pod that sleeps, so that the check resolves names the way the DC's pods do."""
    labels = {**n.labels(spec.name, d.name), n.LABEL_APP: n.DNS_PROBE_POD}
    container = {
        "name": PROBE_CONTAINER,
        "image": PROBE_IMAGE,
        "command": ["sleep", "infinity"],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
        # Admitted under the "restricted" Pod Security Standard: getent needs no privilege.
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NOBODY_UID,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": n.DNS_PROBE_POD, "namespace": d.namespace, "labels": labels},
        "spec": {"containers": [container], "terminationGracePeriodSeconds": 0},
    }


def start_probe(api: ApiClient, spec: RingSpec, d: Datacenter, w: KubeWaits) -> None:
    """Create the probe pod in the DC's namespace (kept for re-runs) and wait until it runs."""
    apply_object(api, manifests.namespace(spec, d))
    pod = probe_pod(spec, d)
    apply_object(api, pod)

    def running(live: dict[str, Any] | None) -> bool | None:
        return True if ((live or {}).get("status") or {}).get("phase") == "Running" else None

    try:  # an image pull can be slow: the probe gets a pod's deadline, not the DNS one
        what = f"{d.name}: pod {d.namespace}/{n.DNS_PROBE_POD} Running"
        watch_until(api, what, "Pod", d.namespace, n.DNS_PROBE_POD, running, w.pod_ready_s)
    except KubeError as exc:
        raise KubeError(f"{exc}: {diagnose_pod(api, d.namespace, n.DNS_PROBE_POD)}") from None


def getent(api: ApiClient, d: Datacenter, database: str, names: list[str]) -> str:
    """`getent <database> <names>` in the probe pod; its stdout (empty when a name is not found)."""
    return exec_in_pod(api, d.namespace, n.DNS_PROBE_POD, ["getent", database, *names], PROBE_CONTAINER).stdout


def ipv4_addresses(ahosts: str) -> list[str]:
    """The addresses `getent ahostsv4` printed (one line per address and socket type), in order."""
    out: list[str] = []
    for line in ahosts.splitlines():
        first = line.split()[0] if line.split() else ""
        try:
            ipaddress.IPv4Address(first)
        except ValueError:
            continue
        if first not in out:
            out.append(first)
    return out
