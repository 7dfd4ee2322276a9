"""The verify-ring flow: is the ring whole? nodetool in every DC, sentinels across DCs, a verdict and a picture."""

from __future__ import annotations

import uuid

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from flows.spec_ref import SpecRef
from multidc_core.spec import RingSpec
from multidc_core.topology_svg import node_table, render_svg, summary_markdown, svg_data_uri
from multidc_core.verify_model import DataPath, ReadResult, RingReport, assess
from tasks.verify import (
    READ_DEADLINE_S,
    CqlLogin,
    choose_login,
    delete_sentinels,
    ensure_verify_keyspace,
    observe_ring,
    read_sentinels,
    write_sentinel,
)

# One thread per DC: its observation, its sentinel write and its row of the read matrix; 16 DCs at once.
MAX_WORKERS = 16


class RingBroken(Exception):
    """The verification found the ring broken; the message is the diagnosis."""


def check_data_path(spec: RingSpec, login: CqlLogin, run_id: str, deadline_s: float) -> DataPath:
    """Sentinels written from every DC at EACH_QUORUM, read at LOCAL_QUORUM from every other DC."""
    keyspace_error = ensure_verify_keyspace(spec, login)
    if keyspace_error is not None:
        return DataPath(keyspace_error=keyspace_error)
    names = [d.name for d in spec.datacenters]
    writes = [f.result() for f in [write_sentinel.submit(spec, dc, run_id, login) for dc in names]]
    reads = [
        read_sentinels.submit(spec, reader, keys, login, deadline_s)
        for reader in names
        if (keys := {w.writer: w.key for w in writes if w.written and w.writer != reader})
    ]
    results = [r for f in reads for r in f.result()]
    delete_sentinels(spec, [w.key for w in writes if w.written], login)
    for w in writes:
        if not w.written:  # nothing to read: say so in every other DC's cell
            results += [
                ReadResult(writer=w.writer, reader=r, ok=False, error=f"{w.writer} could not write at all")
                for r in names
                if r != w.writer
            ]
    return DataPath(writes=writes, reads=results)


def publish(report: RingReport) -> None:
    """The summary (with the topology picture inline) and the node table, keyed per ring."""
    svg = render_svg(report)
    create_markdown_artifact(
        markdown=summary_markdown(report, svg_data_uri(svg)),
        key=f"{report.ring}-ring-verification",
        description=f"Ring {report.ring}: {report.verdict}",
    )
    create_table_artifact(
        table=node_table(report),
        key=f"{report.ring}-ring-nodes",
        description=f"Nodes of ring {report.ring} as each DC sees them",
    )


@flow(
    name="verify-ring",
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS),  # type: ignore[arg-type]
)
def verify_ring(spec: SpecRef, read_deadline_seconds: float = READ_DEADLINE_S) -> RingReport:
    """Check that the ring is one whole ring: every DC sees every node UN and reads every DC's writes.

    Runs `nodetool status` in one pod of every DC and a sentinel matrix (written at EACH_QUORUM
    from each DC, read at LOCAL_QUORUM from every other), then publishes a summary with a topology
    picture and a node table as artifacts.

    Args:
        spec: The ring spec: a YAML path or the name of a block holding it.
        read_deadline_seconds: How long a DC may take to see another DC's sentinel.

    Returns:
        The report: verdict, findings, what each DC saw, the data-path matrix (no secrets).

    Raises:
        RingBroken: The ring is broken (split, partitioned, unreadable, too many nodes down);
            the message lists every finding.
    """
    logger = get_run_logger()
    ring = spec.load()
    login = choose_login(ring)
    logger.info("verifying ring %s (%d DCs), cqlsh login: %s", ring.name, len(ring.datacenters), login.value)
    observed = [observe_ring.submit(ring, dc.name) for dc in ring.datacenters]
    datapath = check_data_path(ring, login, uuid.uuid4().hex[:12], read_deadline_seconds)
    report = assess(ring, [f.result() for f in observed], datapath)
    publish(report)
    if report.verdict == "broken":
        raise RingBroken(f"ring {ring.name} is broken:\n{report.diagnosis()}")
    if report.verdict == "degraded":
        logger.warning("ring %s is DEGRADED:\n%s", ring.name, report.diagnosis())
    else:
        logger.info("ring %s is whole", ring.name)
    return report
