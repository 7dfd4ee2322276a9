"""Helpers for the deploy-ring tests: clusters on the sandbox, ring state as the pods see it, object versions."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api

from blocks.kube import save_kubeconfig
from multidc_core import naming
from multidc_core.cql import quote_literal
from multidc_core.load import load_spec
from multidc_core.nodetool import NodeStatus, parse_status
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld
from tasks.cassandra_admin import admin_credentials
from tasks.kube_access import api_for, exec_in_pod
from tasks.kube_objects import KubeWaits, request
from tests import sandbox_steps as steps

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# Sandbox time runs 1000x fast: a 2-minute bootstrap takes 0.12 s, so seconds are generous here.
FAST = KubeWaits(dns_address_s=30, dns_check_s=4, pvc_bound_s=30, pod_ready_s=30, cql_s=10, poll_s=0.05)


def sandbox_spec() -> RingSpec:
    return load_spec((EXAMPLES / "sandbox.yaml").read_text())


def three_dc_spec() -> RingSpec:
    """examples/sandbox.yaml with a third DC (10.3.0.0/16) and 2 nodes per DC, to keep it fast."""
    raw = yaml.safe_load((EXAMPLES / "sandbox.yaml").read_text())
    raw["name"] = "sandbox3"
    dc3 = copy.deepcopy(raw["datacenters"][1])
    dc3.update(name="dc3", namespace="dc3")
    dc3["azure"].update(
        location="westus2",
        resource_group="multidc-sandbox-dc3",
        vnet_cidr="10.3.0.0/16",
        node_subnet="10.3.0.0/17",
        gateway_subnet="10.3.255.0/27",
        service_cidr="10.103.0.0/16",
        dns_service_ip="10.103.0.10",
        dns_lb_ip="10.3.127.250",
    )
    raw["datacenters"].append(dc3)
    for dc in raw["datacenters"]:
        dc["cassandra"]["nodes"] = 2
        dc["cassandra"]["racks"] = dc["cassandra"]["racks"][:2]
    raw["keyspaces"] = [{"name": "customers_ks", "replication": {"dc1": 2, "dc2": 2, "dc3": 2}}]
    return load_spec(yaml.safe_dump(raw))


def existing_spec(kubeconfig: Path, nodes: int = 2, **aws_dns: Any) -> RingSpec:
    """examples/existing-clusters.yaml on the sandbox's kubeconfig; aws_dns overrides aws-1's DNS exposure."""
    raw = yaml.safe_load((EXAMPLES / "existing-clusters.yaml").read_text())
    for dc in raw["datacenters"]:
        dc["kubeconfig"]["path"] = str(kubeconfig)
        dc["cassandra"]["nodes"] = nodes
    raw["datacenters"][0]["kubeconfig"].update(aws_dns)
    raw["keyspaces"][0]["replication"] = {"aws-1": 2, "azure-1": 2}
    return load_spec(yaml.safe_dump(raw))


def azure_clusters(tw: ThreadedWorld, spec: RingSpec) -> None:
    """Networks, gateways, connections and AKS clusters by hand; kubeconfigs saved where api_for looks."""
    assert tw.world.arm is not None
    az = steps.azure_clients(tw.world.arm.url, str(tw.world.arm.ca_path))
    steps.provision(az, spec)
    for dc in spec.azure_dcs:
        assert dc.azure is not None
        creds = az.aks.managed_clusters.list_cluster_admin_credentials(
            dc.azure.resource_group, naming.cluster_name(spec.name, dc.name)
        )
        raw = creds.kubeconfigs[0].value
        text = raw.decode() if isinstance(raw, bytes) else base64.b64decode(raw).decode()
        save_kubeconfig(spec.name, dc.name, text)


def api(spec: RingSpec, dc: str) -> ApiClient:
    return api_for(spec, spec.dc(dc))


def nodetool_status(spec: RingSpec, dc: str) -> list[NodeStatus]:
    d = spec.dc(dc)
    res = exec_in_pod(api(spec, dc), d.namespace, naming.pods(d)[0], ["nodetool", "status"])
    assert res.returncode == 0, res.stderr
    return parse_status(res.stdout)


def cqlsh(spec: RingSpec, dc: str, user: str, password: str, statements: str) -> tuple[int, str, str]:
    """cqlsh as a given login, from the DC's first pod (tests may put a password on the command line)."""
    d = spec.dc(dc)
    argv = ["sh", "-c", f'cqlsh "$POD_IP" -u {user} -p {password} -e "{statements}"']
    res = exec_in_pod(api(spec, dc), d.namespace, naming.pods(d)[0], argv)
    return res.returncode, res.stdout, res.stderr


def cassandra_pods(spec: RingSpec, dc: str) -> list[str]:
    d = spec.dc(dc)
    items = CoreV1Api(api(spec, dc)).list_namespaced_pod(d.namespace).items
    return [p.metadata.name for p in items if (p.metadata.labels or {}).get(naming.LABEL_APP) == naming.APP]


def ready_summary(spec: RingSpec, dc: str) -> str:
    """`n/N` Ready Cassandra pods of the DC."""
    d = spec.dc(dc)
    items = CoreV1Api(api(spec, dc)).list_namespaced_pod(d.namespace).items
    ready = sum(
        1
        for p in items
        if (p.metadata.labels or {}).get(naming.LABEL_APP) == naming.APP
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    )
    return f"{ready}/{d.cassandra.nodes}"


def versions(spec: RingSpec) -> dict[str, str]:
    """resourceVersion of every object in the ring's namespaces and of the kube-system objects we touch."""
    out: dict[str, str] = {}
    for d in spec.datacenters:
        a = api(spec, d.name)
        core, apps = CoreV1Api(a), AppsV1Api(a)
        listings = {
            "ConfigMap": core.list_namespaced_config_map,
            "Secret": core.list_namespaced_secret,
            "Service": core.list_namespaced_service,
            "Pod": core.list_namespaced_pod,
            "PersistentVolumeClaim": core.list_namespaced_persistent_volume_claim,
            "StatefulSet": apps.list_namespaced_stateful_set,
        }
        for kind, lister in listings.items():
            for obj in lister(d.namespace).items:
                out[f"{d.name}/{kind}/{obj.metadata.name}"] = obj.metadata.resource_version
        ns = core.read_namespace(d.namespace)
        out[f"{d.name}/Namespace/{d.namespace}"] = ns.metadata.resource_version
        for path in (
            f"/apis/policy/v1/namespaces/{d.namespace}/poddisruptionbudgets/cassandra",
            f"/apis/networking.k8s.io/v1/namespaces/{d.namespace}/networkpolicies/cassandra",
            "/api/v1/namespaces/kube-system/configmaps/coredns",
            "/api/v1/namespaces/kube-system/services/multidc-dns",
            "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
        ):
            out[f"{d.name}{path}"] = _raw_version(a, path)
        custom = [
            c
            for c in core.list_namespaced_config_map("kube-system").items
            if c.metadata.name == "coredns-custom"
        ]
        for c in custom:
            out[f"{d.name}/kube-system/coredns-custom"] = c.metadata.resource_version
    return out


def _raw_version(a: ApiClient, path: str) -> str:
    body: dict[str, Any] = request(a, "GET", path)
    return str(body["metadata"]["resourceVersion"])


def replication_of(spec: RingSpec, dc: str, user: str, password: str, keyspace: str) -> dict[str, str]:
    """system_schema.keyspaces' replication map for one keyspace, as seen from the DC."""
    rc, out, err = cqlsh(
        spec,
        dc,
        user,
        password,
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = "  # noqa: S608 (quoted)
        + quote_literal(keyspace),
    )
    assert rc == 0, err
    line = next(x for x in out.splitlines() if x.strip().startswith("{"))
    parsed: dict[str, str] = json.loads(line.strip().replace("'", '"'))
    return parsed


# --- what every deploy-ring test asserts of the ring it built ---------------------------------------


def assert_one_ring(spec: RingSpec) -> None:
    """From every DC, nodetool shows every node of every DC Up/Normal with the spec's DC and racks."""
    want = sorted(
        (d.name, rack.name) for d in spec.datacenters for i, rack in enumerate(_node_racks(d.cassandra))
    )
    for d in spec.datacenters:
        nodes = nodetool_status(spec, d.name)
        assert [x.code for x in nodes] == ["UN"] * len(want), (d.name, nodes)
        assert sorted((x.dc, x.rack) for x in nodes) == want
        pods = CoreV1Api(api(spec, d.name)).list_namespaced_pod(d.namespace).items
        restarts = {
            p.metadata.name: [c.restart_count for c in p.status.container_statuses or []] for p in pods
        }
        assert all(counts == [0] for counts in restarts.values()), restarts  # nothing crashed on the way


def _node_racks(c: object) -> list:
    racks = c.racks  # type: ignore[attr-defined]
    return [racks[i % len(racks)] for i in range(c.nodes)]  # type: ignore[attr-defined]


def assert_auth_taken_over(spec: RingSpec) -> None:
    creds = admin_credentials(spec)
    for d in spec.datacenters:
        rc, _, err = cqlsh(spec, d.name, "cassandra", "cassandra", "CONSISTENCY")
        assert rc != 0 and "cassandra is not permitted to log in" in err
        rc, _, err = cqlsh(spec, d.name, creds.username, creds.password, "CONSISTENCY")
        assert rc == 0, err
        for ks in ("system_auth", "system_distributed", "system_traces"):
            repl = replication_of(spec, d.name, creds.username, creds.password, ks)
            assert repl["class"].endswith("NetworkTopologyStrategy")
            assert {k: v for k, v in repl.items() if k != "class"} == {
                x.name: str(min(3, x.cassandra.nodes)) for x in spec.datacenters
            }
