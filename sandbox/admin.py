"""The sandbox's admin endpoint (not part of ARM): status, request logs and bounded fault injection."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.kube.cluster import merged_kubeconfig
from sandbox.world import World

FAULT_KINDS = (
    "arm-errors",
    "arm-fail",
    "arm-mark-failed",
    "arm-busy",
    "arm-slow",
    "slow-attach",
    "crashloop",
    "node-down",
    "node-up",
    "kube-throttle",
    "partition",
    "heal",
)


def status(world: World) -> dict[str, Any]:
    arm = world.arm
    return {
        "time_scale": world.clock.time_scale,
        "arm": {"url": arm.url if arm else None, "counts": arm.counts() if arm else {}},
        "clusters": {
            name: {"url": e.kube.url, "network": e.network, "cidrs": [str(c) for c in e.cidrs]}
            for name, e in sorted(world.clusters.items())
        },
        "partitions": sorted(sorted(p) for p in world.partitions),
        "rings": {
            rid: sorted(n.node_id for n in world.ring.members(rid)) for rid in sorted(world.ring.rings)
        },
    }


def inject(world: World, fault: dict[str, Any]) -> dict[str, Any]:
    """Apply one fault; returns what was done. Every fault is bounded (count) or removable (heal/clear)."""
    kind = fault.get("kind")
    arm = world.arm
    if kind == "arm-errors" and arm:
        fid = arm.faults.add_error_rate(
            int(fault.get("status", 429)),
            float(fault["rate"]),
            max_count=fault.get("max_count"),
            retry_after=fault.get("retry_after"),
        )
        return {"id": fid}
    if kind == "arm-fail" and arm:
        # code AnotherOperationInProgress (or RetryableError): the operation ends Failed as a busy one does
        fid = arm.faults.fail_provisioning(
            str(fault["resource"]),
            str(fault.get("code", "InternalServerError")),
            fault.get("message"),
            int(fault.get("times", 1)),
        )
        return {"id": fid}
    if kind == "arm-mark-failed" and arm:
        return {"id": arm.mark_failed(str(fault["resource"]))}
    if kind == "arm-busy" and arm:
        return {"id": arm.busy(str(fault["resource"]), float(fault.get("seconds", 600)))}
    if kind == "arm-slow" and arm:
        return {"id": arm.faults.slow_type(str(fault["type"]), float(fault["factor"]))}
    if kind == "kube-throttle":  # the cluster's API server answers 429 to the next `count` matching requests
        world.clusters[str(fault["cluster"])].kube.throttle(
            int(fault.get("count", 10)), str(fault.get("path_contains", "")), fault.get("methods"))
        return {"ok": True}
    if kind in ("slow-attach", "crashloop", "node-down", "node-up"):
        kube = world.clusters[str(fault["cluster"])].kube
        if kind == "slow-attach":
            kube.slow_volume_attach(
                float(fault.get("factor", 1.0)),
                float(fault.get("extra_seconds", 0.0)),
                str(fault.get("namespace", "")),
            )
        elif kind == "crashloop":
            kube.crash_loop(str(fault["namespace"]), str(fault["pod"]), fault.get("times", 3))
        elif kind == "node-down":
            kube.stop_container(str(fault["namespace"]), str(fault["pod"]))
        else:
            kube.start_container(str(fault["namespace"]), str(fault["pod"]))
        return {"ok": True}
    if kind == "partition":
        world.partition(str(fault["a"]), str(fault["b"]))
        return {"ok": True}
    if kind == "heal":
        world.heal(str(fault["a"]), str(fault["b"]))
        return {"ok": True}
    raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")


def clear_faults(world: World) -> None:
    if world.arm:
        world.arm.faults.clear()
    for entry in world.clusters.values():
        entry.kube.clear_faults()
    world.partitions.clear()


def make_admin_app(world: World) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def get_status(_: web.Request) -> web.Response:
        return web.json_response(status(world))

    async def requests(req: web.Request) -> web.Response:
        source = req.query.get("source", "arm")
        if source == "arm":
            log = world.arm.requests() if world.arm else []
        elif source in world.clusters:
            log = world.clusters[source].kube.requests()
        else:
            raise web.HTTPNotFound(text=f"no request source {source!r}")
        return web.json_response(log, dumps=_dumps)

    async def post_fault(req: web.Request) -> web.Response:
        try:
            return web.json_response(inject(world, await req.json()))
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)

    async def kubeconfig(_: web.Request) -> web.Response:
        # One context per cluster, named after it, as `az aks get-credentials` names AKS contexts.
        clusters = {name: e.kube for name, e in sorted(world.clusters.items())}
        return web.Response(text=merged_kubeconfig(clusters), content_type="application/yaml")

    async def delete_faults(_: web.Request) -> web.Response:
        clear_faults(world)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/status", get_status)
    app.router.add_get("/requests", requests)
    app.router.add_get("/kubeconfig", kubeconfig)
    app.router.add_post("/faults", post_fault)
    app.router.add_delete("/faults", delete_faults)
    return app


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, default=str)
