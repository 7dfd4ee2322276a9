"""The plan-only flow: validate a spec and show everything a run would create, touching nothing."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.spec_ref import SpecRef
from multidc_core.plan import build_plan, render_files


def publish_plan(spec_ref: SpecRef) -> str:
    """Validate, plan and publish the step graph as an artifact; returns the plan's summary."""
    spec = spec_ref.load()  # every problem at once, before any cloud call
    plan = build_plan(spec)
    files = render_files(spec)
    create_markdown_artifact(
        key=f"plan-{spec.name}",
        markdown=files["plan.md"] + f"\n\n{len(files)} artifacts rendered (Azure bodies, manifests).\n",
        description=f"Step graph of ring {spec.name}",
    )
    summary = plan.summary()
    get_run_logger().info("%s", summary)
    return summary


@flow(name="plan-ring")
def plan_ring(spec: SpecRef) -> str:
    """Validate the ring spec and publish its step graph; no cloud or cluster is touched.

    Args:
        spec: The ring spec, as a YAML path or a saved block.

    Returns:
        A short summary of the plan.
    """
    return publish_plan(spec)
