"""Day two on the sandbox: multidc/full adds a DC to a ring that holds rows, while a writer writes; removal is refused."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.artifacts import Artifact

from flows.full import FullResult, multidc
from flows.plan import plan_ring
from flows.spec_ref import SpecRef
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld, world_in_thread
from tasks.kube_access import exec_in_pod
from tests import ring_fixtures as rf

pytestmark = pytest.mark.usefixtures("prefect_harness")
ADMIN_CQL = 'cqlsh "$POD_IP" -u "$CASSANDRA_ADMIN_USER" -p "$CASSANDRA_ADMIN_PASSWORD" -e "{}"'
ROWS_BEFORE = 40
WRITER_MAX = 150
WAITS = rf.FAST.model_copy(update={"repair_s": 60})


def spec_file(tmp: Path, kubeconfig: Path, dcs: list[str], name: str) -> Path:
    """examples/sandbox-existing.yaml (3 nodes per DC) on the sandbox's kubeconfig, with only `dcs`."""
    raw: dict[str, Any] = yaml.safe_load((rf.EXAMPLES / "sandbox-existing.yaml").read_text())
    raw["name"] = name
    raw["datacenters"] = [copy.deepcopy(d) for d in raw["datacenters"] if d["name"] in dcs]
    for d in raw["datacenters"]:
        d["kubeconfig"]["path"] = str(kubeconfig)
    raw["keyspaces"] = [{"name": "customers_ks", "replication": {d: 3 for d in dcs}}]
    path = tmp / f"{name}-{'-'.join(dcs)}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def cql(spec: RingSpec, dc: str, pod: str, statements: str) -> tuple[int, str, str]:
    d = spec.dc(dc)
    res = exec_in_pod(rf.api(spec, dc), d.namespace, pod, ["sh", "-c", ADMIN_CQL.format(statements)])
    return res.returncode, res.stdout, res.stderr


def rows_in(spec: RingSpec, dc: str, level: str) -> set[str]:
    """Every id of customers_ks.rows read at `level` from the DC's first pod."""
    pod = naming.pods(spec.dc(dc))[0]
    rc, out, err = cql(spec, dc, pod, f"CONSISTENCY {level}; SELECT id FROM customers_ks.rows")  # noqa: S608 (fixed names)
    assert rc == 0, err
    return {line.strip() for line in out.splitlines() if line.strip().startswith("r")}


class Writer:
    """Inserts rows at LOCAL_QUORUM in aws-1, one exec each, round-robin over its pods; keeps the acknowledged."""

    def __init__(self, spec: RingSpec) -> None:
        self.spec, self.acked, self.tried = spec, set[str](), 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="day-two-writer", daemon=True)

    def run(self) -> None:
        pods = naming.pods(self.spec.dc("aws-1"))
        while not self.stop.is_set() and self.tried < WRITER_MAX:
            key = f"rw{self.tried}"
            pod = pods[self.tried % len(pods)]
            self.tried += 1
            try:
                rc, _, _ = cql(self.spec, "aws-1", pod,
                               f"CONSISTENCY LOCAL_QUORUM; INSERT INTO customers_ks.rows (id) VALUES ('{key}')")  # noqa: S608
            except Exception:  # a pod being restarted: the write was not acknowledged
                rc = -1
            if rc == 0:
                self.acked.add(key)
            self.stop.wait(0.05)  # pacing of the test's client, not a wait for state


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[tuple[ThreadedWorld, Path]]:
    """A one-DC ring (aws-1) built by multidc/full, holding ROWS_BEFORE rows."""
    tmp = tmp_path_factory.mktemp("day-two")
    with world_in_thread(tmp / "state", time_scale=0.001) as tw:
        kubeconfig = tw.add_existing("seed-blog")
        one = spec_file(tmp, kubeconfig, ["aws-1"], "daytwo")
        state = multidc(spec=SpecRef(path=str(one)), verify=False, waits=WAITS, return_state=True)
        assert state.is_completed(), state.message
        spec = load_spec(one.read_text())
        pod = naming.pods(spec.dc("aws-1"))[0]
        inserts = " ".join(f"INSERT INTO customers_ks.rows (id) VALUES ('r{i}');" for i in range(ROWS_BEFORE))  # noqa: S608
        rc, _, err = cql(spec, "aws-1", pod, "CREATE TABLE customers_ks.rows (id text PRIMARY KEY); "
                         f"CONSISTENCY LOCAL_QUORUM; {inserts}")
        assert rc == 0, err
        yield tw, tmp


def test_adding_a_dc_rebuilds_it_and_loses_no_acknowledged_row_written_meanwhile(
    ring: tuple[ThreadedWorld, Path],
) -> None:
    tw, tmp = ring
    path = spec_file(tmp, tw.state_dir / "existing.kubeconfig", ["aws-1", "azure-1"], "daytwo")
    spec = load_spec(path.read_text())
    writer = Writer(spec)
    writer.thread.start()
    try:
        state = multidc(spec=SpecRef(path=str(path)), verify=False, waits=WAITS, return_state=True)
    finally:
        writer.stop.set()
        writer.thread.join(60)
    assert state.is_completed(), state.message
    result: FullResult = state.result()
    assert writer.acked, "the writer got no write acknowledged during the run"
    expected = {f"r{i}" for i in range(ROWS_BEFORE)} | writer.acked
    for dc in ("aws-1", "azure-1"):
        lost = expected - rows_in(spec, dc, "LOCAL_QUORUM")
        print(f"{dc}: {len(expected)} acknowledged rows ({len(writer.acked)} during the add), lost: {len(lost)}")
        assert lost == set(), f"{dc} lost {len(lost)} acknowledged rows: {sorted(lost)[:10]}"
    # Every azure-1 node holds its replicas itself, not through a read from aws-1.
    assert rows_in(spec, "azure-1", "LOCAL_ONE") >= expected
    assert result.deployment.rebuilt == {"azure-1": "rebuilt 3 nodes from aws-1"}


def test_plan_ring_shows_the_removal_and_full_refuses_it_before_any_change(ring: tuple[ThreadedWorld, Path]) -> None:
    tw, tmp = ring
    path = spec_file(tmp, tw.state_dir / "existing.kubeconfig", ["azure-1"], "daytwo")
    spec = load_spec(path.read_text())
    if not rf.cassandra_pods(spec, "azure-1"):
        pytest.skip("needs the two-DC ring of the test before")
    plan_ring(spec=SpecRef(path=str(path)))
    artifact = Artifact.get("changes-daytwo")
    assert artifact is not None and "**remove** `aws-1`" in str(artifact.data)
    before = rf.versions(spec)
    state = multidc(spec=SpecRef(path=str(path)), verify=False, waits=WAITS, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"drops datacenter\(s\) aws-1 .*removing a datacenter is a separate operation"):
        state.result()
    assert rf.versions(spec) == before, "a refused run changed nothing in azure-1"
