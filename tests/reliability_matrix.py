"""The fault matrix: multidc on a fresh sandbox per scenario, one fault each, and what must come of it."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from multidc_core import naming
from tests import reliability_ring as ring_scenarios

ROOT = Path(__file__).resolve().parent.parent
TIME_SCALE = 0.001  # real seconds per Azure second: a 45-minute gateway takes 2.7 s
# Bounds on the benchmark itself: a scenario that outlives this is a failed row, not a hang.
RUN_TIMEOUT_S = 240.0
WATCH_TIMEOUT_S = 120.0


def sandbox_waits() -> Any:
    """The ring's deadlines for sandbox time: a hundredth of production's, still 10x the sandbox's scale.

    In production proportions (KubeWaits defaults): PVC bound 15 min, each pod Ready 30 min, a DNS
    check 5 min, a CQL step 5 min. Passed as the multidc flow's `waits` (a patched default would miss
    the modules that make their own).
    """
    from tasks.kube_objects import KubeWaits

    return KubeWaits(dns_address_s=20, dns_check_s=6, pvc_bound_s=9, pod_ready_s=18, cql_s=10, poll_s=0.05)


@dataclass
class Secrets:
    """Known secret values preset before each run; the scan looks for every one of them."""

    token: str = field(default_factory=lambda: "tok-" + secrets.token_hex(16))
    values: dict[str, str] = field(default_factory=dict)  # label -> value

    def preset(self, ring: str) -> None:
        from prefect.blocks.system import Secret
        from pydantic import SecretStr

        vpn = "vpn" + secrets.token_hex(16)
        user, password = "admin_" + secrets.token_hex(4), "pw" + secrets.token_hex(16)
        Secret(value=SecretStr(vpn)).save(naming.shared_key_block_name(ring), overwrite=True)
        Secret(value=SecretStr(json.dumps({"username": user, "password": password}))).save(
            naming.admin_block_name(ring), overwrite=True
        )
        self.values[f"{ring} VPN shared key"] = vpn
        self.values[f"{ring} Cassandra admin password"] = password

    def kubeconfig_tokens(self, ring: str, dcs: list[str]) -> None:
        from blocks.kube import DatacenterKubeconfig

        for dc in dcs:
            try:
                block = DatacenterKubeconfig.load(naming.kubeconfig_block_name(ring, dc))
            except ValueError:
                continue
            raw = yaml.safe_load(block.kubeconfig.get_secret_value())  # type: ignore[union-attr]
            for user in raw.get("users") or []:
                token = (user.get("user") or {}).get("token")
                if token and len(token) >= 12:
                    self.values[f"{ring} {dc} kubeconfig token"] = token


@dataclass
class Row:
    scenario: str
    injected: str
    expected: str
    outcome: str = ""
    seconds: float = 0.0
    ok: bool = False


class Env:
    """One scenario's sandbox, cloud block, ring name and spec file."""

    def __init__(self, tw: Any, ring: str, work: Path, known: Secrets, spec_text: str | None = None) -> None:
        from multidc.sandbox_cmd import sandbox_cloud

        self.tw, self.ring, self.work, self.known = tw, ring, work, known
        self.world = tw.world
        self.block = f"{ring}-cloud"
        cloud: Any = sandbox_cloud({"arm_url": self.world.arm.url, "ca_path": str(self.world.arm.ca_path)})
        cloud.static_token = __import__("pydantic").SecretStr(known.token)
        cloud.save(self.block, overwrite=True)
        text = spec_text or (ROOT / "examples" / "sandbox.yaml").read_text()
        self.spec = work / f"{ring}.yaml"
        self.spec.write_text(text.replace("name: sandbox\n", f"name: {ring}\n", 1))
        known.preset(ring)

    def cluster(self, dc: str) -> str:
        return naming.cluster_name(self.ring, dc)

    def run(self, verify: bool = True) -> Any:
        from flows.full import multidc
        from flows.spec_ref import SpecRef

        return multidc(spec=SpecRef(path=str(self.spec)), cloud_block=self.block, verify=verify,
                       waits=sandbox_waits(), return_state=True)

    def verify(self) -> Any:
        from flows.spec_ref import SpecRef
        from flows.verify import verify_ring

        return verify_ring(spec=SpecRef(path=str(self.spec)), read_deadline_seconds=5, return_state=True)

    def when_cluster(self, dc: str, fn: Callable[[Any], None]) -> threading.Thread:
        """Inject into a cluster as soon as ARM has created it (it does not exist before)."""
        name = self.cluster(dc)

        def watch() -> None:
            end = time.monotonic() + WATCH_TIMEOUT_S
            while name not in self.world.clusters and time.monotonic() < end:
                time.sleep(0.02)
            if name in self.world.clusters:
                self.tw.call(fn, self.world.clusters[name].kube)

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        return t

    def arm_inventory(self) -> Counter[tuple[str, str]]:
        return Counter((r["type"], r["id"].lower()) for r in self.world.arm.resources())

    def untagged(self) -> list[str]:
        skip = {"Microsoft.Network/virtualNetworks/subnets", "Microsoft.Authorization/roleAssignments"}
        return [
            r["name"]
            for r in self.world.arm.resources()
            if r["type"] not in skip and (r.get("tags") or {}).get(naming.TAG_RING) != self.ring
        ]

    def rings(self) -> list[list[str]]:
        ring = self.world.ring
        return [sorted(n.node_id for n in ring.members(rid)) for rid in ring.rings if ring.members(rid)]


def error_of(state: Any) -> str:
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - the message is the finding
        return f"{type(exc).__name__}: {exc}"
    return ""


def whole(state: Any) -> bool:
    if not state.is_completed():
        return False
    result = state.result()
    return result.verification is not None and result.verification.verdict == "whole"


def first_line(text: str, limit: int = 110) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


# --- scenarios: each takes an Env and fills its Row -----------------------------------------------


def arm_errors(status: int, rate: float) -> Callable[[Env, Row], None]:
    def scenario(env: Env, row: Row) -> None:
        faults = env.world.arm.faults
        fid = env.tw.call(faults.add_error_rate, status, rate, 60, 0.05 if status == 429 else None)
        start = time.monotonic()
        state = env.run()
        row.seconds = time.monotonic() - start
        fired = next(f["fired"] for f in faults.list() if f["id"] == fid)
        row.ok = whole(state) and fired > 0
        row.outcome = f"survived: {fired} x {status} answered, ring whole" if row.ok else error_of(state)

    return scenario


def gateway_failed(env: Env, row: Row) -> None:
    gw = f"{env.ring}-dc1-gw"
    env.tw.call(env.world.arm.faults.fail_provisioning, gw, "GatewayAllocationFailed")
    start = time.monotonic()
    first = env.run()
    message = error_of(first)
    again = env.run()
    row.seconds = time.monotonic() - start
    reconciled = whole(again) and any(
        r.action == "reconciled" and r.name == gw for r in again.result().provision.resources
    )
    deleted = deletes_of(env, gw)
    row.ok = first.is_failed() and gw in message and "GatewayAllocationFailed" in message and reconciled
    row.ok = row.ok and not deleted
    row.outcome = (
        f"failed naming {gw} (GatewayAllocationFailed); re-run reconciled it (no delete), ring whole"
        if row.ok
        else f"{first_line(message)} / re-run: {again.type.value}, {len(deleted)} delete(s)"
    )


def deletes_of(env: Env, name: str) -> list[str]:
    return [
        r["path"]
        for r in env.world.arm.requests()
        if r["method"] == "DELETE" and r["path"].lower().endswith("/" + name.lower())
    ]


def cluster_failed(env: Env, row: Row) -> None:
    """A live cluster left Failed (a failed upgrade does that): reconciled, never deleted, data kept."""
    first = env.run()
    name = env.cluster("dc1")
    kube, nodes = env.world.clusters.get(name), env.rings()
    env.tw.call(env.world.arm.mark_failed, name)
    start = time.monotonic()
    again = env.run()
    row.seconds = time.monotonic() - start
    reconciled = whole(again) and any(
        r.action == "reconciled" and r.name == name for r in again.result().provision.resources
    )
    kept = kube is not None and env.world.clusters.get(name) is kube and env.rings() == nodes
    deleted = deletes_of(env, name)
    row.ok = whole(first) and reconciled and kept and not deleted
    row.outcome = (
        "reconciled by a PUT of the same body; no delete, same Kubernetes cluster and ring, ring whole"
        if row.ok
        else f"{first_line(error_of(again))} reconciled={reconciled} kept={kept} deletes={len(deleted)}"
    )


def busy_link(mode: str) -> Callable[[Env, Row], None]:
    """The link's operation ends Failed twice with AnotherOperationInProgress; the run sends it again."""

    def scenario(env: Env, row: Row) -> None:
        env.spec.write_text(env.spec.read_text().replace("mode: vpn-gateway", f"mode: {mode}"))
        name = f"{env.ring}-dc1-to-dc2"
        faults = env.world.arm.faults
        message = "Another operation on this or dependent resource is in progress."
        fid = env.tw.call(faults.fail_provisioning, name, "AnotherOperationInProgress", message, 2)
        start = time.monotonic()
        state = env.run()
        row.seconds = time.monotonic() - start
        fired = next(f["fired"] for f in faults.list() if f["id"] == fid)
        row.ok = whole(state) and fired == 2
        row.outcome = (
            f"retried: {name} ended AnotherOperationInProgress {fired}x, then Succeeded; ring whole"
            if row.ok
            else first_line(error_of(state))
        )

    return scenario


def cluster_slow(env: Env, row: Row) -> None:
    env.tw.call(env.world.arm.faults.slow_type, "Microsoft.ContainerService/managedClusters", 2.0)
    start = time.monotonic()
    state = env.run()
    row.seconds = time.monotonic() - start
    row.ok = whole(state)
    row.outcome = "survived: ring whole" if row.ok else first_line(error_of(state))


def slow_attach(env: Env, row: Row) -> None:
    # 12,000 Azure s at 0.001 = 12 s real: past the 9 s PVC wait, inside the 18 s pod wait.
    env.when_cluster("dc1", lambda kube: kube.slow_volume_attach(1.0, 12_000.0, "dc1"))
    start = time.monotonic()
    state = env.run()
    row.seconds = time.monotonic() - start
    row.ok = whole(state)
    row.outcome = "survived: the pod wait covers it, ring whole" if row.ok else first_line(error_of(state))


def crashloop(times: int | None) -> Callable[[Env, Row], None]:
    def scenario(env: Env, row: Row) -> None:
        env.when_cluster("dc2", lambda kube: kube.crash_loop("dc2", "cassandra-rack2-0", times))
        start = time.monotonic()
        state = env.run()
        row.seconds = time.monotonic() - start
        if times is not None:
            row.ok = whole(state)
            row.outcome = f"survived {times} crashes: ring whole" if row.ok else first_line(error_of(state))
            return
        message = error_of(state)
        row.ok = (
            state.is_failed()
            and "datacenter dc2: pod dc2/cassandra-rack2-0 not Ready" in message
            and "CrashLoopBackOff" in message
        )
        row.outcome = (
            first_line(message.split(": ", 1)[-1], 90) + " (CrashLoopBackOff)"
            if row.ok
            else first_line(message)
        )

    return scenario


def wrong_dns(env: Env, row: Row) -> None:
    start = time.monotonic()
    state = env.run()
    row.seconds = time.monotonic() - start
    message = error_of(state)
    azure_pods = (
        [
            p
            for p in env.world.clusters["kube-azure"].kube.objects("Pod")
            if p["metadata"].get("namespace") == "azure-1"
        ]
        if "kube-azure" in env.world.clusters
        else []
    )
    row.ok = (
        state.is_failed()
        and "datacenter azure-1 cannot resolve seed" in message
        and "forwards aws-1.svc.cluster.local to 10.9.200.200" in message
        and not azure_pods
    )
    row.outcome = first_line(message.split(": ", 1)[-1], 100) if row.ok else first_line(message)


def partition_deploy(env: Env, row: Row) -> None:
    a, b = env.cluster("dc1"), env.cluster("dc2")

    def cut() -> None:  # as soon as both clusters exist: DC1 bootstraps then, DC2 waits for the link
        end = time.monotonic() + WATCH_TIMEOUT_S
        while not {a, b} <= set(env.world.clusters) and time.monotonic() < end:
            time.sleep(0.02)
        env.tw.call(env.world.partition, a, b)

    watcher = threading.Thread(target=cut, daemon=True)
    watcher.start()
    start = time.monotonic()
    state = env.run()
    row.seconds = time.monotonic() - start
    watcher.join(5)
    message = error_of(state)
    dc2_pods = [
        p
        for p in env.world.clusters[b].kube.objects("Pod")
        # The DNS probe pod runs before Cassandra by design; only Cassandra pods would mean a bootstrap.
        if p["metadata"].get("namespace") == "dc2" and p["metadata"]["name"].startswith("cassandra-")
    ]
    rings = env.rings()
    row.ok = state.is_failed() and "dc2" in message and not dc2_pods and len(rings) == 1
    row.outcome = (
        f"failed: {first_line(message.split(': ', 1)[-1], 80)}; dc2 never started"
        if row.ok
        else f"{first_line(message)}; rings={len(rings)} dc2 pods={len(dc2_pods)}"
    )


def killed_worker(env: Env, row: Row) -> None:
    """The run in a child process, killed (SIGKILL) once the clusters exist; then the run again here."""
    from prefect.settings import PREFECT_API_URL

    code = (
        "from flows.full import multidc\nfrom flows.spec_ref import SpecRef\n"
        f"multidc(spec=SpecRef(path={str(env.spec)!r}), cloud_block={env.block!r})\n"
    )
    child_env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env,  # noqa: S603
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    end = time.monotonic() + WATCH_TIMEOUT_S
    while (
        time.monotonic() < end
        and child.poll() is None
        and not (env.cluster("dc1") in env.world.clusters and env.cluster("dc2") in env.world.clusters)
    ):
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(30)
    before = env.arm_inventory()
    start = time.monotonic()
    first = env.run()  # the dead run still holds the ring's lock: refused, naming it
    refused = error_of(first)
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    with get_client(sync_client=True) as client:  # what the message tells the operator to do
        client.update_global_concurrency_limit(
            naming.ring_lock_name(env.ring), GlobalConcurrencyLimitUpdate(active_slots=0)
        )
    state = env.run()
    row.seconds = time.monotonic() - start
    after = env.arm_inventory()
    dupes = [k for k, n in after.items() if n > 1]
    lost = [k for k in before if k not in after]
    row.ok = (
        "is being changed by flow run" in refused
        and whole(state)
        and not dupes
        and not lost
        and not env.untagged()
    )
    row.outcome = (
        f"resumed: {len(before)} ARM resources before, {len(after)} after, 0 duplicates, "
        "0 untagged; the first re-run was refused naming the dead run, until its slot was freed"
        if row.ok
        else f"{first_line(error_of(state) if state else 'no run')}; dupes={dupes} lost={lost}"
    )


SANDBOX_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
OTHER_SUBSCRIPTION = "22222222-2222-2222-2222-222222222222"


def same_names_elsewhere(env: Env, row: Row) -> None:
    """Staging and prod: the same ring and DC names in two subscriptions of one Entra tenant.

    The sandbox's Kubernetes side keys clusters by name, so the second ring is provisioned in ARM
    (groups, networks, gateways, identities, grants, clusters, links) and the first is verified again.
    """
    from flows.provision import provision_azure
    from multidc_core.load import load_spec

    start = time.monotonic()
    first = env.run()
    other = load_spec(env.spec.read_text().replace(SANDBOX_SUBSCRIPTION, OTHER_SUBSCRIPTION))
    second = provision_azure(spec=other, cloud_block=env.block, return_state=True)
    again = env.verify()
    row.seconds = time.monotonic() - start
    grants = Counter(
        r["properties"]["scope"].split("/")[2]
        for r in env.world.arm.resources("Microsoft.Authorization/roleAssignments")
    )
    clusters = Counter(
        r["id"].split("/")[2]
        for r in env.world.arm.resources("Microsoft.ContainerService/managedClusters")
        if r["properties"]["provisioningState"] == "Succeeded"
    )
    both = {SANDBOX_SUBSCRIPTION: 2, OTHER_SUBSCRIPTION: 2}
    row.ok = whole(first) and second.is_completed() and again.is_completed() and grants == clusters == both
    row.outcome = (
        "both built: 2 grants and 2 clusters per subscription; the first ring still whole"
        if row.ok
        else first_line(error_of(second) or error_of(first) or f"grants {dict(grants)}, clusters {dict(clusters)}")
    )


def non_zonal_region(env: Env, row: Row) -> None:
    """dc2 moved to westus, a region without availability zones, keeping its zones and VpnGw1AZ."""
    env.spec.write_text(env.spec.read_text().replace("location: southcentralus", "location: westus"))
    start = time.monotonic()
    state = env.run()
    row.seconds = time.monotonic() - start
    message = error_of(state)
    calls = len(env.world.arm.requests())
    named = "datacenters[1].azure.location" in message and "datacenters[1].azure.zones" in message
    row.ok = state.is_failed() and named and "global-peering" in message and calls == 0
    row.outcome = (
        f"rejected before any call ({calls} ARM requests), naming dc2's location and zones and the fix"
        if row.ok
        else first_line(message or f"{calls} ARM requests")
    )


def verify_faults(env: Env, rows: dict[str, Row]) -> None:
    """Partition and node down while verify-ring runs, on one built ring."""
    built = env.run()
    if not whole(built):
        for row in rows.values():
            row.outcome = "ring not built: " + first_line(error_of(built))
        return
    a, b = env.cluster("dc1"), env.cluster("dc2")
    row = rows["partition-verify"]
    start = time.monotonic()
    env.tw.call(env.world.partition, a, b)
    state = env.verify()
    message = error_of(state)
    env.tw.call(env.world.heal, a, b)
    healed = env.verify()
    row.seconds = time.monotonic() - start
    row.ok = state.is_failed() and "dc1" in message and "dc2" in message and healed.is_completed()
    row.outcome = (
        f"broken, naming dc1 and dc2; whole again after heal ({healed.result().verdict})"
        if row.ok
        else first_line(message)
    )
    row = rows["node-down"]
    start = time.monotonic()
    env.tw.call(env.world.clusters[b].kube.stop_container, "dc2", "cassandra-rack3-0")
    state = env.verify()
    env.tw.call(env.world.clusters[b].kube.start_container, "dc2", "cassandra-rack3-0")
    row.seconds = time.monotonic() - start
    report = state.result() if state.is_completed() else None
    text = report.diagnosis() if report else error_of(state)
    row.ok = report is not None and report.verdict == "degraded" and "DN" in text
    row.outcome = f"degraded: {first_line(text.lstrip('- '), 90)}" if row.ok else first_line(text)


def wrong_probe(env: Env, row: Row) -> None:
    from multidc_core.manifests import READINESS_COMMAND

    command = ["sh", "-c", READINESS_COMMAND.replace("${POD_IP}", "10.255.255.255")]
    env.when_cluster("dc2", lambda kube: kube.wrong_probe("dc2", "cassandra-rack2-0", command))
    start = time.monotonic()
    state = env.run()
    row.seconds = time.monotonic() - start
    message = error_of(state)
    row.ok = (
        state.is_failed()
        and "datacenter dc2: pod dc2/cassandra-rack2-0 not Ready" in message
        and "Readiness probe failed" in message
    )
    row.outcome = first_line(message.split(": ", 1)[-1], 90) if row.ok else first_line(message)


def unsupported_version(env: Env, row: Row) -> None:
    raw = yaml.safe_load(env.spec.read_text())
    raw.setdefault("cassandra", {})["image"] = "cassandra:3.11"
    env.spec.write_text(yaml.safe_dump(raw, sort_keys=False))
    start = time.monotonic()
    state = env.run()
    row.seconds = time.monotonic() - start
    message = error_of(state)
    calls = len(env.world.arm.requests()) + sum(len(e.kube.requests()) for e in env.world.clusters.values())
    row.ok = state.is_failed() and "cassandra.image" in message and "3.11" in message and calls == 0
    row.outcome = (first_line(message[message.index("cassandra.image"):], 90) + f" ({calls} cloud calls)"
                   if row.ok else first_line(message))


@dataclass
class Scenario:
    key: str
    scenario: str
    injected: str
    expected: str
    run: Callable[[Env, Row], None] | None  # None: filled by verify_faults
    quick: bool = False
    existing: bool = False
    spec: str | None = None  # existing clusters: the spec text (kubeconfig path filled in), else the DNS one


SCENARIOS = [
    Scenario(
        "429-10",
        "ARM throttling 10%",
        "arm-errors 429 rate 0.1 Retry-After 0.05 s (max 60)",
        "survived",
        arm_errors(429, 0.1),
        quick=True,
    ),
    Scenario(
        "500-10",
        "ARM server errors 10%",
        "arm-errors 500 rate 0.1 (max 60)",
        "survived",
        arm_errors(500, 0.1),
    ),
    Scenario(
        "429-30",
        "ARM throttling 30%",
        "arm-errors 429 rate 0.3 Retry-After 0.05 s (max 60)",
        "survived",
        arm_errors(429, 0.3),
    ),
    Scenario(
        "500-30",
        "ARM server errors 30%",
        "arm-errors 500 rate 0.3 (max 60)",
        "survived",
        arm_errors(500, 0.3),
        quick=True,
    ),
    Scenario(
        "gw-failed",
        "gateway provisioning Failed",
        "arm-fail <ring>-dc1-gw (GatewayAllocationFailed)",
        "clear failure naming it; re-run reconciles it (no delete)",
        gateway_failed,
        quick=True,
    ),
    Scenario(
        "aks-failed",
        "a cluster marked Failed",
        "arm-mark-failed <ring>-dc1-aks after a whole run, run again",
        "reconciled, no delete, data kept",
        cluster_failed,
    ),
    Scenario(
        "busy-peering",
        "AnotherOperationInProgress on a peering",
        "global-peering; arm-fail <ring>-dc1-to-dc2 code AnotherOperationInProgress times 2",
        "retried",
        busy_link("global-peering"),
    ),
    Scenario(
        "busy-connection",
        "AnotherOperationInProgress on a connection",
        "arm-fail <ring>-dc1-to-dc2 code AnotherOperationInProgress times 2",
        "retried",
        busy_link("vpn-gateway"),
    ),
    Scenario(
        "aks-slow",
        "cluster creation 2x slower",
        "arm-slow managedClusters factor 2",
        "survived",
        cluster_slow,
    ),
    Scenario(
        "attach-slow",
        "volume attach past the PVC wait",
        "slow-attach dc1 +12,000 Azure s (12 s > 9 s PVC wait)",
        "survived (pod wait 18 s covers it)",
        slow_attach,
    ),
    Scenario(
        "crash-2",
        "pod crash-loops twice",
        "crashloop dc2/cassandra-rack2-0 times=2",
        "survived",
        crashloop(2),
    ),
    Scenario(
        "crash-inf",
        "pod crash-loops for good",
        "crashloop dc2/cassandra-rack2-0 times=None",
        "clear failure naming pod and reason",
        crashloop(None),
        quick=True,
    ),
    Scenario(
        "dns-wrong",
        "DNS forwarded to a wrong address",
        "existing clusters, aws-1 DNS address 10.9.200.200",
        "clear failure naming DC and seed",
        wrong_dns,
        existing=True,
    ),
    Scenario(
        "partition-deploy",
        "partition during deployment",
        "partition dc1|dc2 clusters before DC2 bootstraps",
        "clear failure; no DC bootstraps alone",
        partition_deploy,
    ),
    Scenario(
        "partition-verify",
        "partition during verification",
        "partition dc1|dc2, verify-ring, heal",
        "verify fails naming both DCs",
        None,
        quick=True,
    ),
    Scenario(
        "node-down",
        "one node down during verification",
        "node-down dc2/cassandra-rack3-0, verify-ring",
        "degraded, the node DN",
        None,
        quick=True,
    ),
    Scenario(
        "same-names",
        "second ring with the same names in another subscription (both build)",
        "ring rel<n> in subscription 0000..., then the same spec in 2222... (one tenant)",
        "both build; role assignment names differ (unique per tenant)",
        same_names_elsewhere,
    ),
    Scenario(
        "non-zonal",
        "a region without availability zones",
        "dc2 in westus with zones 1-3 and VpnGw1AZ",
        "rejected before any call, naming the fields and the fix",
        non_zonal_region,
        quick=True,
    ),
    Scenario(
        "killed",
        "worker killed mid-flow, run again",
        "SIGKILL of the run's process once both clusters exist",
        "resumed without duplicates",
        killed_worker,
        quick=True,
    ),
    Scenario(
        "joiners-race",
        "two joiners racing across racks",
        "existing clusters, 5 nodes over 3 racks per DC (3 joiners, one StatefulSet each)",
        "survived: joined one at a time, no restart",
        ring_scenarios.joiners_racing,
        existing=True,
        spec=ring_scenarios.existing_text(racks=3, nodes=5),
    ),
    Scenario(
        "repair-long",
        "a long repair",
        "existing clusters, every repair 70,000 Azure s (70 s real, past a 60 s exec)",
        "survived, repair ran once to completion",
        ring_scenarios.long_repair,
        existing=True,
        spec=ring_scenarios.existing_text(racks=1, nodes=2),
    ),
    Scenario(
        "probe-wrong",
        "readiness probe greps a wrong address",
        "probe of dc2/cassandra-rack2-0 greps 10.255.255.255",
        "clear failure naming pod and probe",
        wrong_probe,
    ),
    Scenario(
        "version-unsupported",
        "image of an unsupported Cassandra",
        "cassandra.image cassandra:3.11",
        "rejected before any call, naming the field",
        unsupported_version,
        quick=True,
    ),
]


def existing_spec_text(kubeconfig: Path) -> str:
    raw = yaml.safe_load((ROOT / "examples" / "existing-clusters.yaml").read_text())
    for dc in raw["datacenters"]:
        dc["kubeconfig"]["path"] = str(kubeconfig)
        dc["cassandra"]["nodes"] = 2
    raw["datacenters"][0]["kubeconfig"].update(dns_exposure="address", dns_addresses=["10.9.200.200"])
    raw["keyspaces"][0]["replication"] = {"aws-1": 2, "azure-1": 2}
    raw["name"] = "sandbox"
    return yaml.safe_dump(raw, sort_keys=False)


@dataclass
class Logs:
    """Every sandbox's request logs, kept for the secrets scan after the worlds are gone."""

    arm: list[list[dict[str, Any]]] = field(default_factory=list)
    kube: list[list[dict[str, Any]]] = field(default_factory=list)

    def keep(self, env: Env) -> None:
        self.arm.append(env.world.arm.requests())
        self.kube += [entry.kube.requests() for entry in env.world.clusters.values()]


LOGS = Logs()


@contextmanager
def scenario_env(
    work: Path, index: int, known: Secrets, existing: bool = False, spec: str | None = None
) -> Iterator[Env]:
    from sandbox.harness import world_in_thread

    with world_in_thread(work / f"world-{index}", time_scale=TIME_SCALE) as tw:
        text = None
        if existing:
            kubeconfig = tw.add_existing("seed-blog")
            text = spec.replace("~/.kube/config", str(kubeconfig)) if spec else existing_spec_text(kubeconfig)
        yield Env(tw, f"rel{index}", work, known, text)


def run_matrix(work: Path, quick: bool, known: Secrets, log: Callable[[str], None]) -> list[Row]:
    chosen = [s for s in SCENARIOS if s.quick or not quick]
    rows = {s.key: Row(s.scenario, s.injected, s.expected) for s in chosen}
    for i, s in enumerate(chosen):
        if s.run is None:
            continue
        log(f"  {s.scenario} ...")
        with scenario_env(work, i, known, s.existing, s.spec) as env:
            try:
                s.run(env, rows[s.key])
            except Exception as exc:  # noqa: BLE001 - a scenario that blows up is a failed row
                rows[s.key].outcome = f"benchmark error: {type(exc).__name__}: {first_line(str(exc))}"
            known.kubeconfig_tokens(env.ring, ["dc1", "dc2"])
            LOGS.keep(env)
    verify_rows = {k: rows[k] for k in ("partition-verify", "node-down") if k in rows}
    if verify_rows:
        log("  verification faults ...")
        with scenario_env(work, 99, known) as env:
            verify_faults(env, verify_rows)
            known.kubeconfig_tokens(env.ring, ["dc1", "dc2"])
            LOGS.keep(env)
    return [rows[s.key] for s in chosen]


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()
