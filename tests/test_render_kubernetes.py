"""Kubernetes manifests: strict schema validation for every example, and the contract DESIGN.md fixes."""

from __future__ import annotations

import functools
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

from multidc_core import corefile
from multidc_core import manifests as m
from multidc_core import naming as n
from multidc_core.cassandra_config import cassandra_yaml
from multidc_core.plan import render_files
from multidc_core.render import dc_manifests
from multidc_core.spec import Cloud, DnsExposure, RingSpec
from tests.render_support import PASSWORD, example_names, load_example, runtime_manifests, strict_validate


@functools.cache
def rendered(example: str) -> dict[str, str]:
    return render_files(load_example(example))


@pytest.mark.parametrize("example", example_names())
def test_every_manifest_passes_strict_validation(example: str) -> None:
    manifests = runtime_manifests(load_example(example), planned=False)
    manifests += [yaml.safe_load(t) for p, t in rendered(example).items() if p.endswith(".yaml")]
    for manifest in manifests:
        strict_validate(manifest)


def test_an_older_kubernetes_accepts_them_too() -> None:
    for manifest in runtime_manifests(load_example("sandbox")):
        strict_validate(manifest, "1.30")


def test_strict_validation_fails_on_unknown_kinds_and_fields() -> None:
    with pytest.raises(SchemaNotFoundError):
        strict_validate({"apiVersion": "v1", "kind": "Cassandra", "metadata": {"name": "x"}})
    bad = m.headless_service(load_example("sandbox"), load_example("sandbox").datacenters[0])
    bad["spec"]["publishNotReady"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        strict_validate(bad)


def test_examples_are_all_there() -> None:
    assert {"two-dc-vpn", "two-dc-peering", "three-dc-vpn", "existing-clusters", "sandbox"} <= set(
        example_names()
    )


@pytest.mark.parametrize("example", example_names())
def test_no_secret_value_in_the_plan_output(example: str) -> None:
    for path, text in rendered(example).items():
        assert "kind: Secret" not in text, path
        assert "stringData" not in text, path
        assert PASSWORD not in text, path


def _by_kind(spec: RingSpec, dc_index: int = 0) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for obj in dc_manifests(spec, spec.datacenters[dc_index]):
        out.setdefault(obj["kind"], []).append(obj)
    return out


def test_labels_on_every_object() -> None:
    spec = load_example("two-dc-vpn")
    for obj in dc_manifests(spec, spec.datacenters[1]):
        assert n.labels(spec.name, "dc-southcentralus").items() <= obj["metadata"]["labels"].items()


def test_headless_service_and_statefulsets_follow_the_contract() -> None:
    spec = load_example("two-dc-vpn")
    dc = spec.datacenters[0]
    objs = _by_kind(spec)
    svc = next(s for s in objs["Service"] if s["metadata"]["name"] == "cassandra")
    assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["publishNotReadyAddresses"] is True
    assert sorted(p["port"] for p in svc["spec"]["ports"]) == [7000, 7001, 9042]
    sets = objs["StatefulSet"]
    assert [s["metadata"]["name"] for s in sets] == ["cassandra-rack1", "cassandra-rack2", "cassandra-rack3"]
    sts = sets[1]["spec"]
    assert (sts["serviceName"], sts["podManagementPolicy"], sts["replicas"]) == (
        "cassandra",
        "OrderedReady",
        1,
    )
    assert sts["selector"]["matchLabels"].items() <= sts["template"]["metadata"]["labels"].items()
    assert svc["spec"]["selector"].items() <= sts["template"]["metadata"]["labels"].items()
    pod = sts["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= 60
    term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert term == [
        {
            "matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eastus-2"]}
            ]
        }
    ]
    (c,) = pod["containers"]
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert [e["name"] for e in c["env"]][0] == "POD_IP"
    assert env["CASSANDRA_SEEDS"]["value"] == n.seeds_csv(spec)
    assert env["CASSANDRA_DC"]["value"] == "dc-eastus" and env["CASSANDRA_RACK"]["value"] == "rack2"
    assert env["CASSANDRA_CLUSTER_NAME"]["value"] == spec.name
    assert env["CASSANDRA_ENDPOINT_SNITCH"]["value"] == "GossipingPropertyFileSnitch"
    assert (
        env["MAX_HEAP_SIZE"]["value"] == dc.cassandra.heap
        and env["HEAP_NEWSIZE"]["value"] == dc.cassandra.heap_new
    )
    assert env["CASSANDRA_ADMIN_USER"]["valueFrom"]["secretKeyRef"] == {
        "name": "cassandra-admin",
        "key": "username",
    }
    assert env["CASSANDRA_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "cassandra-admin",
        "key": "password",
    }
    assert c["resources"]["requests"] == c["resources"]["limits"] == {"cpu": "2", "memory": "8Gi"}
    probe = c["readinessProbe"]
    assert probe["exec"]["command"][:2] == ["sh", "-c"] and probe["timeoutSeconds"] >= 10
    assert {"name": "etc-cassandra", "mountPath": "/etc/cassandra"} in c["volumeMounts"]
    init, gate = pod["initContainers"]  # the config copy, then the start gate (it holds Cassandra)
    assert {"name": "config", "mountPath": "/config", "readOnly": True} in init["volumeMounts"]
    assert gate["name"] == "start-gate" and gate["image"] == c["image"]
    assert gate["volumeMounts"] == [{"name": "data", "mountPath": "/var/lib/cassandra"}]
    assert gate["command"] == ["sh", "-c", "until [ -e /var/lib/cassandra/multidc-start-granted ]; do sleep 2; done"]
    assert {"name": "config", "configMap": {"name": "cassandra-config"}} in pod["volumes"]
    assert {"name": "etc-cassandra", "emptyDir": {}} in pod["volumes"]
    (claim,) = sts["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["storageClassName"] == "managed-csi-premium"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"


def test_readiness_probe_matches_only_this_pods_own_up_normal_line() -> None:
    status = "\n".join(
        [
            "Datacenter: dc1",
            "--  Address    Load  Tokens  Owns  Host ID  Rack",
            "UN  10.1.0.4   1 MiB  16  ?  a  rack1",
            "DN  10.1.0.5   1 MiB  16  ?  b  rack2",
            "UN  10.1.0.45  1 MiB  16  ?  c  rack3",
        ]
    )
    script = m.READINESS_COMMAND.replace("nodetool status", f"printf '%s\\n' '{status}'")
    for ip, ok in [("10.1.0.4", 0), ("10.1.0.5", 1), ("10.1.0.6", 1)]:
        rc = subprocess.run(
            ["sh", "-c", script], env={"POD_IP": ip, "PATH": "/usr/bin:/bin"}, capture_output=True
        )
        assert rc.returncode == ok, ip


def test_dns_service_per_exposure() -> None:
    spec = load_example("two-dc-vpn")
    svc = m.dns_service(spec, spec.datacenters[0])
    assert svc is not None
    assert svc["metadata"]["namespace"] == "kube-system" and svc["metadata"]["name"] == "multidc-dns"
    assert svc["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
        "service.beta.kubernetes.io/azure-load-balancer-ipv4": "10.1.127.250",
    }
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["selector"] == {"k8s-app": "kube-dns"}
    assert {(p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == {(53, "UDP"), (53, "TCP")}
    other = load_example("existing-clusters")
    kc = other.datacenters[0]
    assert kc.kubeconfig is not None
    for exposure, expected in [
        (DnsExposure.NODEPORT, "NodePort"),
        (DnsExposure.LOADBALANCER, "LoadBalancer"),
        (DnsExposure.ADDRESS, None),
    ]:
        dc = kc.model_copy(update={"kubeconfig": kc.kubeconfig.model_copy(update={"dns_exposure": exposure})})
        got = m.dns_service(other, dc)
        assert (got and got["spec"]["type"]) == expected
        if exposure is not DnsExposure.LOADBALANCER:
            assert got is None or "annotations" not in got["metadata"]


@pytest.mark.parametrize(
    ("cloud", "annotations"),
    [
        (Cloud.AKS, {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}),
        (
            Cloud.EKS,
            {
                "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
            },
        ),
        (Cloud.GKE, {"networking.gke.io/load-balancer-type": "Internal"}),
    ],
)
def test_existing_cluster_dns_load_balancer_is_internal_per_cloud(cloud: Cloud, annotations: dict[str, str]) -> None:
    spec = load_example("existing-clusters")
    dc = spec.datacenters[0]
    assert dc.kubeconfig is not None
    dc = dc.model_copy(update={"kubeconfig": dc.kubeconfig.model_copy(update={"cloud": cloud})})
    svc = m.dns_service(spec, dc)
    assert svc is not None and svc["metadata"]["annotations"] == annotations
    # Annotations in the spec replace the cloud's (EKS with the in-tree controller, say).
    legacy = {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}
    own = dc.model_copy(update={"kubeconfig": dc.kubeconfig.model_copy(update={"dns_lb_annotations": legacy})})
    assert (m.dns_service(spec, own) or {})["metadata"]["annotations"] == legacy


def test_coredns_custom_forwards_every_other_dc() -> None:
    spec = load_example("three-dc-vpn")
    names = [d.name for d in spec.datacenters]
    remote = {names[1]: "10.2.0.250", names[2]: "10.3.0.250"}
    data = corefile.render_coredns_custom(spec, names[0], remote)
    ns1, ns2 = spec.datacenters[1].namespace, spec.datacenters[2].namespace
    assert data == {
        f"multidc-{ns1}.server": f"{ns1}.svc.cluster.local:53 {{\n    errors\n    cache 30\n    forward . 10.2.0.250\n}}\n",
        f"multidc-{ns2}.server": f"{ns2}.svc.cluster.local:53 {{\n    errors\n    cache 30\n    forward . 10.3.0.250\n}}\n",
    }
    with pytest.raises(KeyError, match=names[2]):
        corefile.render_coredns_custom(spec, names[0], {names[1]: "10.2.0.250"})


COREFILE = """.:53 {
    errors
    health
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}
"""


def test_corefile_insertion_is_idempotent_and_replaces_its_own_section() -> None:
    spec = load_example("existing-clusters")
    once = corefile.insert_server_blocks(COREFILE, spec, "aws-1", {"azure-1": "10.19.0.53"})
    assert once.startswith(COREFILE)
    assert once.count(corefile.BEGIN_MARK) == 1 and "forward . 10.19.0.53" in once
    assert corefile.insert_server_blocks(once, spec, "aws-1", {"azure-1": "10.19.0.53"}) == once
    moved = corefile.insert_server_blocks(once, spec, "aws-1", {"azure-1": "10.19.0.99"})
    assert "10.19.0.53" not in moved and moved.count(corefile.END_MARK) == 1
    assert corefile.remove_section(moved) == COREFILE
    with pytest.raises(ValueError, match="no end marker"):
        corefile.remove_section(COREFILE + corefile.BEGIN_MARK + "\n")


def test_corefile_clusters_get_a_snippet_not_a_configmap() -> None:
    files = rendered("existing-clusters")
    assert "kubernetes/aws-1/03-corefile-multidc.txt" in files
    assert not any(p.startswith("kubernetes/aws-1/") and "coredns-custom" in p for p in files)
    assert "kubernetes/azure-1/03-configmap-coredns-custom.yaml" in files


@pytest.mark.parametrize("auth", [True, False])
def test_cassandra_yaml(auth: bool) -> None:
    spec = load_example("two-dc-vpn")
    spec = spec.model_copy(update={"cassandra": spec.cassandra.model_copy(update={"auth": auth})})
    text = cassandra_yaml(spec, spec.datacenters[0])
    conf = yaml.safe_load(text)
    assert conf["authenticator"] == ("PasswordAuthenticator" if auth else "AllowAllAuthenticator")
    assert conf["authorizer"] == ("CassandraAuthorizer" if auth else "AllowAllAuthorizer")
    assert conf["endpoint_snitch"] == "GossipingPropertyFileSnitch"
    assert conf["num_tokens"] == 16 and conf["cluster_name"] == spec.name
    assert conf["seed_provider"][0]["parameters"][0]["seeds"] == n.seeds_csv(spec)
    for key in (
        "partitioner",
        "commitlog_sync",
        "commitlog_sync_period",
        "data_file_directories",
        "listen_address",
        "rpc_address",
    ):
        assert key in conf
    lines = text.splitlines()
    # The entrypoint's sed patterns: `^(# )?key:` for each key it sets, and `- seeds:`.
    for key in ("cluster_name", "num_tokens", "listen_address", "rpc_address", "endpoint_snitch"):
        assert any(line.startswith(f"{key}:") for line in lines), key
    for key in ("broadcast_address", "broadcast_rpc_address"):
        assert any(line.startswith((f"{key}:", f"# {key}:")) for line in lines), key
    assert sum("- seeds:" in line for line in lines) == 1


def test_pdb_and_network_policy() -> None:
    spec = load_example("two-dc-vpn")
    objs = _by_kind(spec)
    (pdb,) = objs["PodDisruptionBudget"]
    assert pdb["spec"]["maxUnavailable"] == 1
    (pol,) = objs["NetworkPolicy"]
    (rule,) = pol["spec"]["ingress"]
    assert sorted(p["port"] for p in rule["ports"]) == [7000, 7001, 9042]
    cidrs = [f["ipBlock"]["cidr"] for f in rule["from"] if "ipBlock" in f]
    assert cidrs == ["10.1.0.0/17", "10.2.0.0/17"]
    assert {"podSelector": {}} in rule["from"]
    existing = load_example("existing-clusters")
    assert m.peer_cidrs(existing) == ["10.9.0.0/17", "10.9.192.0/18", "10.19.0.0/16"]


def test_admin_secret() -> None:
    s = m.admin_secret("ns", "admin", PASSWORD)
    assert s["metadata"] == {"name": "cassandra-admin", "namespace": "ns"}
    assert s["stringData"] == {"username": "admin", "password": PASSWORD}


def test_coredns_restart_patch() -> None:
    patch = m.coredns_restart_patch("2026-11-22T04:40:00Z")
    assert patch == {
        "spec": {
            "template": {
                "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-22T04:40:00Z"}}
            }
        }
    }
