"""Day two on the sandbox, shared by benchmarks/day_two.py and tests/test_day_two.py: a one-DC ring that
holds rows, a writer at LOCAL_QUORUM, and the add of a second DC measured in time and rows lost."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flows.full import multidc
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


def spec_file(tmp: Path, kubeconfig: Path, dcs: list[str]) -> Path:
    """examples/sandbox-existing.yaml (3 nodes per DC) on the sandbox's kubeconfig, with only `dcs`."""
    raw: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "sandbox-existing.yaml").read_text())
    raw["name"] = RING
    raw["datacenters"] = [copy.deepcopy(d) for d in raw["datacenters"] if d["name"] in dcs]
    for d in raw["datacenters"]:
        d["kubeconfig"]["path"] = str(kubeconfig)
    raw["keyspaces"] = [{"name": "customers_ks", "replication": {d: 3 for d in dcs}}]
    path = tmp / f"{RING}-{'-'.join(dcs)}.yaml"
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

    def __init__(self, spec: RingSpec) -> None:
        self.spec, self.acked, self.tried = spec, set[str](), 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="day-two-writer", daemon=True)

    def run(self) -> None:
        pods = naming.pods(self.spec.dc("aws-1"))
        while not self.stop.is_set() and self.tried < WRITER_MAX:
            key, pod = f"rw{self.tried}", pods[self.tried % len(pods)]
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
    """One add of azure-1 to the live ring, with a writer running throughout."""

    state: Any
    spec: RingSpec
    seconds: float
    acked_during: int
    lost: dict[str, set[str]] = field(default_factory=dict)  # per DC: acknowledged rows not read back


def add_dc(tmp: Path, kubeconfig: Path) -> AddOutcome:
    """Run multidc/full with azure-1 appended while the writer writes; read every acknowledged row back."""
    path = spec_file(tmp, kubeconfig, ["aws-1", "azure-1"])
    spec = load_spec(path.read_text())
    writer = Writer(spec)
    writer.thread.start()
    started = time.monotonic()
    try:
        state = run_full(path)
    finally:
        seconds = time.monotonic() - started
        writer.stop.set()
        writer.thread.join(60)
    outcome = AddOutcome(state, spec, seconds, len(writer.acked))
    if state.is_completed():
        expected = {f"r{i}" for i in range(ROWS_BEFORE)} | writer.acked
        outcome.lost = {dc: expected - rows_in(spec, dc, "LOCAL_QUORUM") for dc in ("aws-1", "azure-1")}
    return outcome
