"""Day two on the sandbox, shared by benchmarks/day_two.py and tests/test_day_two.py: a one-DC ring that
holds rows, a writer at LOCAL_QUORUM, and the add of a second DC measured in time and rows lost."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import CoreV1Api

from flows.full import multidc
from flows.remove_dc import remove_dc
from flows.scale import scale_dc
from flows.spec_ref import SpecRef
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.spec import RingSpec
from tasks.kube_access import api_for, exec_in_pod
from tasks.kube_objects import KubeWaits

ROOT = Path(__file__).resolve().parent.parent
ADMIN_CQL = 'cqlsh "$POD_IP" -u "$CASSANDRA_ADMIN_USER" -p "$CASSANDRA_ADMIN_PASSWORD" -e "{}"'
RING = "daytwo"
ROWS_BEFORE = 40
WRITER_MAX = 150  # the writer's bound: at most this many inserts, however long the run
# Sandbox time runs 1000x fast: seconds here are generous.
WAITS = KubeWaits(dns_address_s=30, dns_check_s=4, pvc_bound_s=30, pod_ready_s=30, cql_s=10, repair_s=60, poll_s=0.05)


def spec_file(
    tmp: Path, kubeconfig: Path, dcs: list[str], nodes: dict[str, int] | None = None, image: str | None = None
) -> Path:
    """examples/sandbox-existing.yaml (3 nodes per DC unless `nodes` says) on the sandbox's kubeconfig, with only
    `dcs` (and `image` when given)."""
    raw: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "sandbox-existing.yaml").read_text())
    raw["name"] = RING
    if image:
        raw["cassandra"] = {"image": image}
    raw["datacenters"] = [copy.deepcopy(d) for d in raw["datacenters"] if d["name"] in dcs]
    for d in raw["datacenters"]:
        d["kubeconfig"]["path"] = str(kubeconfig)
        d["cassandra"]["nodes"] = (nodes or {}).get(d["name"], 3)
    raw["keyspaces"] = [{"name": "customers_ks", "replication": {d: 3 for d in dcs}}]
    sizes = "".join(f"-{(nodes or {}).get(d, 3)}" for d in dcs)
    path = tmp / f"{RING}-{'-'.join(dcs)}{sizes}{'-' + image.replace(':', '-') if image else ''}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_full(path: Path) -> Any:
    return multidc(spec=SpecRef(path=str(path)), verify=False, waits=WAITS, return_state=True)


def cql(spec: RingSpec, dc: str, pod: str, statements: str) -> tuple[int, str, str]:
    """cqlsh as the ring's admin, whose credentials stay in the pod's environment."""
    d = spec.dc(dc)
    res = exec_in_pod(api_for(spec, d), d.namespace, pod, ["sh", "-c", ADMIN_CQL.format(statements)])
    return res.returncode, res.stdout, res.stderr


def rows_in(spec: RingSpec, dc: str, level: str) -> set[str]:
    """Every id of customers_ks.rows read at `level` from the DC's first pod."""
    pod = naming.pods(spec.dc(dc))[0]
    rc, out, err = cql(spec, dc, pod, f"CONSISTENCY {level}; SELECT id FROM customers_ks.rows")  # noqa: S608
    if rc != 0:
        raise RuntimeError(f"{dc}: read at {level} failed: {err.strip()}")
    return {line.strip() for line in out.splitlines() if line.strip().startswith("r")}


def one_dc_ring(tmp: Path, kubeconfig: Path) -> RingSpec:
    """aws-1 alone, built by multidc/full, holding ROWS_BEFORE rows written at LOCAL_QUORUM."""
    path = spec_file(tmp, kubeconfig, ["aws-1"])
    state = run_full(path)
    if not state.is_completed():
        raise RuntimeError(f"the one-DC ring was not built: {state.message}")
    spec = load_spec(path.read_text())
    inserts = " ".join(f"INSERT INTO customers_ks.rows (id) VALUES ('r{i}');" for i in range(ROWS_BEFORE))  # noqa: S608
    rc, _, err = cql(spec, "aws-1", naming.pods(spec.dc("aws-1"))[0],
                     f"CREATE TABLE customers_ks.rows (id text PRIMARY KEY); CONSISTENCY LOCAL_QUORUM; {inserts}")
    if rc != 0:
        raise RuntimeError(f"rows not written: {err.strip()}")
    return spec


class Writer:
    """Inserts rows at LOCAL_QUORUM in aws-1, one exec each, round-robin over its pods; keeps the acknowledged."""

    started = 0  # writers so far: each one's keys are its own, so later writes never overwrite earlier rows

    def __init__(self, spec: RingSpec) -> None:
        self.spec, self.acked, self.tried = spec, set[str](), 0
        self.serial, Writer.started = Writer.started, Writer.started + 1
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="day-two-writer", daemon=True)

    def run(self) -> None:
        pods = naming.pods(self.spec.dc("aws-1"))
        while not self.stop.is_set() and self.tried < WRITER_MAX:
            key, pod = f"rw{self.serial}x{self.tried}", pods[self.tried % len(pods)]
            self.tried += 1
            insert = f"CONSISTENCY LOCAL_QUORUM; INSERT INTO customers_ks.rows (id) VALUES ('{key}')"  # noqa: S608
            try:
                rc = cql(self.spec, "aws-1", pod, insert)[0]
            except Exception:  # a pod being restarted: the write was not acknowledged
                rc = -1
            if rc == 0:
                self.acked.add(key)
            self.stop.wait(0.05)  # the client's pace, not a wait for state


@dataclass
class AddOutcome:
    """One day-two operation on the live ring, with a writer in aws-1 running throughout."""

    state: Any
    spec: RingSpec
    seconds: float
    acked_during: int
    lost: dict[str, set[str]] = field(default_factory=dict)  # per DC: acknowledged rows not read back
    acked: int = 0  # every acknowledged row so far (those before included)


# Every row acknowledged by the writers of earlier operations of the same ring: each later read checks them too.
ACKED: dict[str, set[str]] = {}


def measured(path: Path, run: Callable[[], Any], read_in: list[str] | None = None) -> AddOutcome:
    """Run one operation while the writer writes in aws-1; read every acknowledged row back in each DC."""
    spec = load_spec(path.read_text())
    writer = Writer(spec)
    writer.thread.start()
    started = time.monotonic()
    try:
        state = run()
    finally:
        seconds = time.monotonic() - started
        writer.stop.set()
        writer.thread.join(60)
    expected = ACKED.setdefault(str(path.parent), {f"r{i}" for i in range(ROWS_BEFORE)})
    expected |= writer.acked
    outcome = AddOutcome(state, spec, seconds, len(writer.acked), acked=len(expected))
    if state.is_completed():
        dcs = read_in or [d.name for d in spec.datacenters]
        outcome.lost = {dc: expected - rows_in(spec, dc, "LOCAL_QUORUM") for dc in dcs}
    return outcome


def add_dc(tmp: Path, kubeconfig: Path) -> AddOutcome:
    """Run multidc/full with azure-1 appended while the writer writes; read every acknowledged row back."""
    path = spec_file(tmp, kubeconfig, ["aws-1", "azure-1"])
    return measured(path, lambda: run_full(path))


def scale(tmp: Path, kubeconfig: Path, dcs: list[str], nodes: dict[str, int], dc: str, confirm: str = "") -> AddOutcome:
    """Run scale-dc for `dc` to `nodes[dc]` (confirm for a shrink) while the writer writes."""
    path = spec_file(tmp, kubeconfig, dcs, nodes)
    return measured(path, lambda: scale_dc(spec=SpecRef(path=str(path)), dc=dc, confirm=confirm, waits=WAITS,
                                           return_state=True))


def remove(tmp: Path, kubeconfig: Path, dcs: list[str], dc: str, confirm: str = "") -> AddOutcome:
    """Run remove-dc for `dc` (the spec still lists it) while the writer writes; read back in the other DCs."""
    path = spec_file(tmp, kubeconfig, dcs)
    return measured(path, lambda: remove_dc(spec=SpecRef(path=str(path)), dc=dc, confirm=confirm, waits=WAITS,
                                            return_state=True), read_in=[d for d in dcs if d != dc])


def roll(tmp: Path, kubeconfig: Path, dcs: list[str], image: str) -> AddOutcome:
    """Run multidc/full with another image: every DC rolls one pod at a time, each back UN, while the writer writes."""
    path = spec_file(tmp, kubeconfig, dcs, image=image)
    return measured(path, lambda: run_full(path))


def pods_on(spec: RingSpec, dc: str, image: str) -> tuple[int, int]:
    """(Cassandra pods of the DC whose container runs `image`, all its Cassandra pods)."""
    d = spec.dc(dc)
    items = CoreV1Api(api_for(spec, d)).list_namespaced_pod(d.namespace).items
    ours = [p for p in items if (p.metadata.labels or {}).get(naming.LABEL_APP) == naming.APP]
    return sum(1 for p in ours if p.spec.containers[0].image == image), len(ours)
