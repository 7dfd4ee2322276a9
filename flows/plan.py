"""The plan-only flow: validate a spec and show everything a run would create, touching nothing."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.spec_ref import SpecRef
from multidc_core.plan import NOTES, build_plan, render_files
from multidc_core.plan_svg import render_plan_svg
from multidc_core.ring_changes import RingChanges
from multidc_core.spec import RingSpec
from multidc_core.topology_svg import svg_data_uri
from tasks.ring_changes import live_changes


def publish_plan(spec_ref: SpecRef, adding: Sequence[str] = ()) -> str:
    """Validate, plan and publish the step graph as an artifact; returns the plan's summary.

    `adding`: DCs joining the live ring, whose rebuilds the plan then holds.
    """
    spec = spec_ref.load()  # every problem at once, before any cloud call
    plan = build_plan(spec, adding)
    files = render_files(spec)
    # The UI renders markdown images, not mermaid: the graph goes in as an SVG picture.
    markdown = plan.to_markdown(svg_data_uri(render_plan_svg(plan))) + NOTES
    create_markdown_artifact(
        key=f"plan-{spec.name}",
        markdown=markdown + f"\n{len(files)} artifacts rendered (Azure bodies, manifests).\n",
        description=f"Step graph of ring {spec.name}",
    )
    summary = plan.summary()
    get_run_logger().info("%s", summary)
    return summary


def publish_changes(spec: RingSpec) -> RingChanges | None:
    """Read the live ring and publish the plan of changes (added, removed, changed DCs) as an artifact.

    Returns the changes, or None when no DC of the spec runs a node that answers (a first build, or
    a ring that cannot be reached): the artifact then says the live ring cannot be seen.
    """
    seen = live_changes(spec)
    if seen is None:
        markdown = (f"# Plan of changes for ring {spec.name}\n\nCannot see the live ring: no datacenter of the "
                    "spec answered `nodetool status` (a first build, or clusters not reachable from here).\n")
        changes = None
    else:
        dc, changes = seen
        markdown = changes.to_markdown(spec.name, dc)
    create_markdown_artifact(
        key=f"changes-{spec.name}", markdown=markdown, description=f"Plan of changes of ring {spec.name}"
    )
    get_run_logger().info("%s", markdown.strip().replace("\n\n", "\n"))
    return changes


@flow(name="plan-ring")
def plan_ring(spec: SpecRef) -> str:
    """Validate the ring spec, publish its step graph and, when the ring runs, its plan of changes.

    Nothing is changed: the live ring is only read (`nodetool status` in one of its DCs).

    Args:
        spec: The ring spec, as a YAML path or a saved block.

    Returns:
        A short summary of the plan.
    """
    summary = publish_plan(spec)
    publish_changes(spec.load())
    return summary
