"""kubectl against a sandbox cluster: what an operator types after a deployment works as on a real API server."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.harness import ThreadedWorld, world_in_thread
from tests.kube_helpers import wait_for

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed on this machine")

NS = "ring"
MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata:
  name: {NS}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {NS}
data:
  mode: sandbox
---
apiVersion: v1
kind: Service
metadata:
  name: cassandra
  namespace: {NS}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {{app: cassandra}}
  ports:
  - {{name: cql, port: 9042}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: cassandra
  namespace: {NS}
spec:
  serviceName: cassandra
  replicas: 2
  selector:
    matchLabels: {{app: cassandra}}
  template:
    metadata:
      labels: {{app: cassandra}}
    spec:
      containers:
      - name: cassandra
        image: cassandra:5.0
        env:
        - {{name: CASSANDRA_SEEDS, value: cassandra-0.cassandra.{NS}.svc.cluster.local}}
        - {{name: CASSANDRA_CLUSTER_NAME, value: kubectl-test}}
        ports:
        - {{containerPort: 9042, name: cql}}
        volumeMounts:
        - {{name: data, mountPath: /var/lib/cassandra}}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: managed-csi
      resources:
        requests: {{storage: 1Gi}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: cassandra
  namespace: {NS}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {{app: cassandra}}
"""


class Kubectl:
    def __init__(self, kubeconfig: Path, context: str) -> None:
        self.base = ["kubectl", "--kubeconfig", str(kubeconfig), "--context", context]

    def run(self, *args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([*self.base, *args], input=stdin, capture_output=True, text=True, timeout=120)
        if ok:
            assert res.returncode == 0, (args, res.stdout, res.stderr)
        return res

    def out(self, *args: str) -> str:
        return self.run(*args).stdout


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedWorld]:
    with world_in_thread(tmp_path_factory.mktemp("kubectl"), time_scale=0.001) as tw:
        yield tw


@pytest.fixture(scope="module")
def kubectl(sandbox: ThreadedWorld, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    k = Kubectl(sandbox.add_existing("seed-blog"), "kube-azure")
    path = tmp_path_factory.mktemp("manifests") / "ring.yaml"
    path.write_text(MANIFEST)
    created = k.out("apply", "-f", str(path))
    for line in ("namespace/ring created", "configmap/settings created", "service/cassandra created",
                 "statefulset.apps/cassandra created", "poddisruptionbudget.policy/cassandra created"):
        assert line in created
    k.manifest = path  # type: ignore[attr-defined]
    rollout = k.out("rollout", "status", "statefulset/cassandra", "-n", NS, "--timeout=90s")
    # A StatefulSet defaults to RollingUpdate with partition 0: kubectl reports the partitioned form.
    assert "partitioned roll out complete: 2 new pods have been updated" in rollout
    return k


def _rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def test_get_pods_prints_ready_status_restarts(kubectl: Kubectl) -> None:
    rows = _rows(kubectl.out("get", "po", "-n", NS))
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[:4] for r in rows[1:]] == [["cassandra-0", "1/1", "Running", "0"], ["cassandra-1", "1/1", "Running", "0"]]
    wide = _rows(kubectl.out("get", "pods", "-n", NS, "-o", "wide"))
    assert wide[0][:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    ip = kubectl.out("get", "pod", "cassandra-0", "-n", NS, "-o", "jsonpath={.status.podIP}")
    assert wide[1][5] == ip and ip.startswith("10.19.")


def test_short_names_categories_and_selectors(kubectl: Kubectl) -> None:
    out = kubectl.out("get", "sts,svc,cm,pvc,pdb", "-n", NS)
    assert re.search(r"statefulset.apps/cassandra\s+2/2\s", out)
    assert re.search(r"service/cassandra\s+ClusterIP\s+None\s+<none>\s+9042/TCP", out)
    assert re.search(r"configmap/settings\s+1\s", out)
    assert re.search(r"persistentvolumeclaim/data-cassandra-0\s+Bound\s+pvc-\S+\s+1Gi\s+RWO\s+managed-csi", out)
    assert re.search(r"poddisruptionbudget.policy/cassandra\s+N/A\s+1\s", out)
    everything = kubectl.out("get", "all", "-n", NS)  # the "all" category: pods, services, workloads
    assert "pod/cassandra-0" in everything and "statefulset.apps/cassandra" in everything
    assert "configmap/" not in everything and "persistentvolumeclaim/" not in everything
    names = kubectl.out("get", "po", "-n", NS, "-l", "app=cassandra,apps.kubernetes.io/pod-index in (1)",
                        "-o", "jsonpath={.items[*].metadata.name}")
    assert names == "cassandra-1"
    assert "kind: StatefulSet" in kubectl.out("get", "sts", "cassandra", "-n", NS, "-o", "yaml")
    assert '"readyReplicas": 2' in kubectl.out("get", "sts", "cassandra", "-n", NS, "-o", "json")
    assert kubectl.out("get", "ns", NS, "--no-headers").split()[:2] == [NS, "Active"]


def test_apply_again_is_unchanged_and_unknown_fields_are_rejected(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest: Path = kubectl.manifest  # type: ignore[attr-defined]
    before = kubectl.out("get", "sts,svc,cm,pdb", "-n", NS, "-o", "jsonpath={.items[*].metadata.resourceVersion}")
    again = kubectl.out("apply", "-f", str(manifest))
    for line in ("namespace/ring unchanged", "configmap/settings unchanged", "service/cassandra unchanged",
                 "statefulset.apps/cassandra unchanged"):
        assert line in again
    # The PDB selector's patchStrategy is "replace": kubectl always sends it, as against a real cluster,
    # but the server sees a no-op and the object keeps its resourceVersion.
    assert "poddisruptionbudget.policy/cassandra configured" in again
    after = kubectl.out("get", "sts,svc,cm,pdb", "-n", NS, "-o", "jsonpath={.items[*].metadata.resourceVersion}")
    assert after == before
    bad = tmp_path / "bad.yaml"
    bad.write_text(manifest.read_text().replace("image: cassandra:5.0", "imagee: cassandra:5.0"))
    res = kubectl.run("apply", "-f", str(bad), ok=False)
    assert res.returncode != 0
    assert 'strict decoding error: unknown field "spec.template.spec.containers[0].imagee"' in res.stderr
    assert kubectl.out("get", "sts", "cassandra", "-n", NS, "-o", "jsonpath={.metadata.resourceVersion}") in before


def test_logs_show_cassandra_joining_the_ring(kubectl: Kubectl) -> None:
    ip0 = kubectl.out("get", "pod", "cassandra-0", "-n", NS, "-o", "jsonpath={.status.podIP}")
    ip1 = kubectl.out("get", "pod", "cassandra-1", "-n", NS, "-o", "jsonpath={.status.podIP}")
    log1 = kubectl.out("logs", "cassandra-1", "-n", NS)
    layout = r"^INFO  \[GossipStage:1\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} Gossiper\.java:\d+ - "
    assert re.search(layout + re.escape(f"Node /{ip0}:7000 is now part of the cluster") + "$", log1, re.M)
    assert "JOINING: Starting to bootstrap..." in log1 and "Startup complete" in log1
    log0 = kubectl.out("logs", "cassandra-0", "-n", NS, "-c", "cassandra")
    assert f"Node /{ip1}:7000 is now part of the cluster" in log0
    tail = kubectl.out("logs", "cassandra-0", "-n", NS, "--tail=2").splitlines()
    assert tail == log0.splitlines()[-2:]


def test_describe_exec_explain_can_i(kubectl: Kubectl) -> None:
    described = kubectl.out("describe", "pod", "cassandra-0", "-n", NS)
    assert re.search(r"Status:\s+Running", described)
    assert re.search(r"Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned ring/cassandra-0", described)
    sts = kubectl.out("describe", "sts", "cassandra", "-n", NS)
    assert re.search(r"Pods Status:\s+2 Running", sts)
    status = kubectl.out("exec", "cassandra-0", "-n", NS, "--", "nodetool", "status")
    assert len(re.findall(r"^UN\s", status, re.M)) == 2
    explain = kubectl.out("explain", "statefulset.spec.replicas")
    assert "FIELD: replicas <integer>" in explain and "desired number of replicas" in explain
    assert kubectl.out("auth", "can-i", "create", "statefulsets", "-n", NS).strip() == "yes"


def test_delete_wait_watch_and_rollout_restart(kubectl: Kubectl) -> None:
    watcher = subprocess.Popen([*kubectl.base, "get", "pods", "-n", NS, "-w", "--no-headers"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)  # the watch is open before the change
        uid = kubectl.out("get", "pod", "cassandra-1", "-n", NS, "-o", "jsonpath={.metadata.uid}")
        assert 'pod "cassandra-1" deleted' in kubectl.out("delete", "pod", "cassandra-1", "-n", NS, "--wait")
        kubectl.out("wait", "--for=condition=Ready", "pod/cassandra-1", "-n", NS, "--timeout=60s")
        assert kubectl.out("get", "pod", "cassandra-1", "-n", NS, "-o", "jsonpath={.metadata.uid}") != uid
        time.sleep(1)
    finally:
        watcher.terminate()
        watched, _ = watcher.communicate(timeout=10)
    lines = _rows(watched)
    # The list, then the change events as Table rows: the replacement pod goes Pending -> Running 1/1.
    assert ["cassandra-1", "0/1", "Pending", "0"] in [r[:4] for r in lines]
    assert [r[:3] for r in lines][-1] == ["cassandra-1", "1/1", "Running"]
    assert "statefulset.apps/cassandra restarted" in kubectl.out("rollout", "restart", "sts/cassandra", "-n", NS)
    done = kubectl.out("rollout", "status", "sts/cassandra", "-n", NS, "--timeout=90s")
    assert "roll out complete" in done
    generation = kubectl.out("get", "sts", "cassandra", "-n", NS, "-o",
                             "jsonpath={.metadata.generation}/{.status.observedGeneration}")
    assert generation == "2/2"


def test_server_side_apply_owns_fields_conflicts_and_forces(kubectl: Kubectl, tmp_path: Path) -> None:
    cm = tmp_path / "cm.yaml"
    cm.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: {NS}\n"
                  "data:\n  mode: applied\n  extra: x\n")
    assert "configmap/ssa serverside-applied" in kubectl.out("apply", "--server-side", "-f", str(cm))
    owners = kubectl.out("get", "cm", "ssa", "-n", NS, "--show-managed-fields", "-o",
                         "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}")
    assert owners.split() == ["kubectl/Apply"]
    kubectl.out("patch", "cm", "ssa", "-n", NS, "--type=merge", "-p", '{"data":{"mode":"patched"}}')
    refused = kubectl.run("apply", "--server-side", "-f", str(cm), ok=False)
    assert refused.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl-patch": .data.mode' in refused.stderr
    kubectl.out("apply", "--server-side", "--force-conflicts", "-f", str(cm))
    assert kubectl.out("get", "cm", "ssa", "-n", NS, "-o", "jsonpath={.data.mode}") == "applied"
    # A field the applier no longer applies, and nobody else owns, is removed.
    cm.write_text(cm.read_text().replace("  extra: x\n", ""))
    kubectl.out("apply", "--server-side", "-f", str(cm))
    assert kubectl.out("get", "cm", "ssa", "-n", NS, "-o", "jsonpath={.data}") == '{"mode":"applied"}'


def test_scale_goes_through_the_scale_subresource(kubectl: Kubectl) -> None:
    assert "statefulset.apps/cassandra scaled" in kubectl.out("scale", "sts", "cassandra", "-n", NS, "--replicas=1")
    kubectl.out("wait", "--for=delete", "pod/cassandra-1", "-n", NS, "--timeout=60s")
    assert kubectl.out("get", "sts", "cassandra", "-n", NS, "-o", "jsonpath={.spec.replicas}") == "1"
    assert [r[0] for r in _rows(kubectl.out("get", "po", "-n", NS, "--no-headers"))] == ["cassandra-0"]


def test_logs_follow_streams_the_new_lines(kubectl: Kubectl) -> None:
    follower = subprocess.Popen([*kubectl.base, "logs", "-f", "cassandra-0", "-n", NS, "--tail=1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)  # following before the change
        kubectl.out("scale", "sts", "cassandra", "-n", NS, "--replicas=2")
        kubectl.out("wait", "--for=condition=Ready", "pod/cassandra-1", "-n", NS, "--timeout=60s")
        ip1 = kubectl.out("get", "pod", "cassandra-1", "-n", NS, "-o", "jsonpath={.status.podIP}")
        time.sleep(1)
        assert follower.poll() is None  # still following: the container runs
    finally:
        follower.terminate()
        followed, _ = follower.communicate(timeout=10)
    lines = followed.splitlines()
    assert len(lines) >= 3  # the one tail line, then what came after
    assert f"Node /{ip1}:7000 is now part of the cluster" in "\n".join(lines[1:])


GATED = f"""
apiVersion: v1
kind: Service
metadata:
  name: gated
  namespace: {NS}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {{app: gated}}
  ports:
  - {{name: cql, port: 9042}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: gated
  namespace: {NS}
spec:
  serviceName: gated
  replicas: 1
  selector:
    matchLabels: {{app: gated}}
  template:
    metadata:
      labels: {{app: gated}}
    spec:
      initContainers:
      - name: config
        image: cassandra:5.0
        command: [sh, -c, "true"]
      - name: start-gate
        image: cassandra:5.0
        command: [sh, -c, "until [ -e /var/lib/cassandra/multidc-start-granted ]; do sleep 2; done"]
        volumeMounts:
        - {{name: data, mountPath: /var/lib/cassandra}}
      containers:
      - name: cassandra
        image: cassandra:5.0
        env:
        - {{name: CASSANDRA_SEEDS, value: gated-0.gated.{NS}.svc.cluster.local}}
        - {{name: CASSANDRA_CLUSTER_NAME, value: kubectl-gated}}
        volumeMounts:
        - {{name: data, mountPath: /var/lib/cassandra}}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: managed-csi
      resources:
        requests: {{storage: 1Gi}}
"""


def test_a_pod_held_at_its_start_gate_shows_init_and_a_kubectl_exec_grant_starts_it(
    kubectl: Kubectl, tmp_path: Path
) -> None:
    path = tmp_path / "gated.yaml"
    path.write_text(GATED)
    kubectl.out("apply", "-f", str(path))
    wait_for(lambda: kubectl.out("get", "pod", "gated-0", "-n", NS, "-o",  # the disk attaches first
                                 "jsonpath={.status.initContainerStatuses[1].state.running.startedAt}"), 30, 0.1)
    rows = _rows(kubectl.out("get", "pod", "gated-0", "-n", NS))
    assert rows[1][:3] == ["gated-0", "0/1", "Init:1/2"]  # the config copy done, the gate running
    refused = kubectl.run("exec", "gated-0", "-n", NS, "--", "nodetool", "status", ok=False)
    assert refused.returncode != 0 and 'container not found ("cassandra")' in refused.stderr
    kubectl.out("exec", "gated-0", "-n", NS, "-c", "start-gate", "--", "touch",
                "/var/lib/cassandra/multidc-start-granted")
    out = kubectl.out("wait", "--for=condition=Ready", "pod/gated-0", "-n", NS, "--timeout=60s")
    assert "condition met" in out
    assert _rows(kubectl.out("get", "pod", "gated-0", "-n", NS))[1][:3] == ["gated-0", "1/1", "Running"]
