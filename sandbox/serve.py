"""The sandbox process: ARM, the clusters and the admin endpoint on one loop, state kept on disk."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from sandbox.admin import make_admin_app
from sandbox.arm.server import start_arm
from sandbox.clock import Clock
from sandbox.presets import EXISTING_PRESETS
from sandbox.process import INFO_FILE
from sandbox.tls import ensure_tls
from sandbox.world import World

STATE_FILE = "state.json"
EXISTING_KUBECONFIG = "existing.kubeconfig"
# Snapshot often enough that a killed sandbox loses at most a few seconds of simulated work.
SNAPSHOT_EVERY_S = 2.0

def dump_world(world: World) -> dict[str, Any]:
    assert world.arm is not None
    return {
        "time_scale": world.clock.time_scale,
        "arm": world.arm.dump(),
        "arm_port": int(world.arm.url.rsplit(":", 1)[1]),
        "ring": world.ring.dump(),
        "partitions": [sorted(p) for p in world.partitions],
        "clusters": {
            name: {"meta": e.meta, "port": int(e.kube.url.rsplit(":", 1)[1]), "kube": e.kube.dump()}
            for name, e in world.clusters.items()
        },
    }


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


async def add_existing(world: World, state_dir: Path, preset: str) -> None:
    contexts = []
    for c in EXISTING_PRESETS[preset]:
        if c["name"] not in world.clusters:
            args = {k: v for k, v in c.items() if k not in ("name", "context")}
            await world.add_cluster(
                c["name"],
                network=f"existing:{preset}",
                cidrs=[c[k] for k in ("pod_cidr", "lb_cidr", "node_cidr") if k in c],
                **args,
            )
        contexts.append(world.clusters[c["name"]].kube.kubeconfig_dict(c["context"]))
    merged = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [x for k in contexts for x in k["clusters"]],
        "users": [x for k in contexts for x in k["users"]],
        "contexts": [x for k in contexts for x in k["contexts"]],
        "current-context": contexts[0]["current-context"],
    }
    path = state_dir / EXISTING_KUBECONFIG
    _write_atomic(path, yaml.safe_dump(merged, sort_keys=False))
    path.chmod(0o600)


async def build_world(
    state_dir: Path, time_scale: float, existing: str | None
) -> tuple[World, dict[str, Any]]:
    """Restore the world from state.json when there is one (same ports, same objects), else start anew."""
    saved: dict[str, Any] = {}
    if (state_dir / STATE_FILE).exists():
        saved = json.loads((state_dir / STATE_FILE).read_text())
    clock = Clock(float(saved.get("time_scale", time_scale)))
    world = World(clock, ensure_tls(state_dir))
    # Clusters come back before ARM's pending operations resume, so their hooks find them.
    for name, c in saved.get("clusters", {}).items():
        meta = dict(c["meta"])
        network, cidrs = meta.pop("network"), meta.pop("cidrs")
        await world.add_cluster(name, network, cidrs, port=c["port"], state=c["kube"], **meta)
    world.arm = await start_arm(state_dir, clock, hooks=world, port=int(saved.get("arm_port", 0)))
    if saved:
        world.arm.load(saved["arm"])
        world.ring.load(saved.get("ring", {}))
        world.partitions = {frozenset(p) for p in saved.get("partitions", [])}
    if existing:
        await add_existing(world, state_dir, existing)
    return world, saved


async def serve(state_dir: Path, time_scale: float, existing: str | None = None, admin_port: int = 0) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    world, saved = await build_world(state_dir, time_scale, existing)
    runner = web.AppRunner(make_admin_app(world), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", admin_port or int(saved.get("admin_port", 0)))
    await site.start()
    port = runner.addresses[0][1]
    loop = asyncio.get_running_loop()

    def snapshot() -> None:
        state = dump_world(world)
        state["admin_port"] = port
        _write_atomic(state_dir / STATE_FILE, json.dumps(state, default=str))

    def tick() -> None:
        snapshot()
        loop.call_later(SNAPSHOT_EVERY_S, tick)

    assert world.arm is not None
    info = {
        "pid": os.getpid(),
        "state_dir": str(state_dir),
        "arm_url": world.arm.url,
        "ca_path": str(world.tls.ca_path),
        "admin_url": f"http://127.0.0.1:{port}",
        "time_scale": world.clock.time_scale,
        "existing_kubeconfig": str(state_dir / EXISTING_KUBECONFIG) if world_has_existing(world) else None,
    }
    _write_atomic(state_dir / INFO_FILE, json.dumps(info, indent=2))
    tick()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    snapshot()
    await runner.cleanup()
    for name in list(world.clusters):
        await world.clusters[name].kube.stop()
    await world.arm.stop()


def world_has_existing(world: World) -> bool:
    return any(e.network.startswith("existing:") for e in world.clusters.values())
