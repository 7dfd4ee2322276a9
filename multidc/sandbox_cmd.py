"""`multidc sandbox up|status|down|connect|kubeconfig`: the local ARM and Kubernetes emulators in a background process."""

from __future__ import annotations

import argparse
import json
import urllib.request
from pathlib import Path

import yaml

from multidc.cli import EXIT_INVALID, EXIT_OK
from multidc_core import naming
from sandbox.presets import EXISTING_PRESETS
from sandbox.process import DEFAULT_STATE_DIR, SandboxError, down, running, up

# Real seconds per Azure second: a 45-minute gateway takes 27 s, a 10-minute AKS cluster 6 s.
DEFAULT_TIME_SCALE = 0.01


def cmd_up(args: argparse.Namespace) -> int:
    extra = ["--existing", args.existing] if args.existing else []
    try:
        info = up(Path(args.state_dir), args.time_scale, extra)
    except SandboxError as exc:
        print(f"sandbox: {exc}")
        return EXIT_INVALID
    print(f"sandbox ready (pid {info['pid']}, time scale {info['time_scale']})")
    print(f"  ARM endpoint: {info['arm_url']}")
    print(f"  CA bundle:    {info['ca_path']}")
    print(f"  admin:        {info['admin_url']}")
    if info.get("existing_kubeconfig"):
        print(f"  kubeconfig:   {info['existing_kubeconfig']} (existing clusters)")
    print("  AKS kubeconfigs come from ARM (listClusterAdminCredential), as on Azure.")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    info = running(Path(args.state_dir))
    if info is None:
        print(f"sandbox: not running (state dir {args.state_dir})")
        return 1
    with urllib.request.urlopen(info["admin_url"] + "/status", timeout=5) as resp:  # noqa: S310 - loopback
        status = json.load(resp)
    print(json.dumps(status, indent=2))
    return EXIT_OK


# A sandbox operation takes seconds: one that is stuck fails naming itself in minutes, not after the
# 90 minutes a real gateway is given (the benchmarks' longest wait, a gateway at time scale 0.02, is 54 s).
SANDBOX_DEADLINE_S = 600.0


def sandbox_cloud(info: dict[str, object], deadline_s: float = SANDBOX_DEADLINE_S) -> object:
    """The AzureCloud block for this sandbox: its endpoint, its CA, any token, fast polling, and
    deadlines of `deadline_s` for every wait and every retried request."""
    from pydantic import SecretStr

    from blocks.azure import AzureCloud

    return AzureCloud(
        arm_endpoint=str(info["arm_url"]),
        ca_bundle=Path(str(info["ca_path"])).read_text(),
        credential_kind="static-token",
        # The sandbox accepts any bearer token; this one is not a secret, but the field type is.
        static_token=SecretStr("sandbox"),
        # Simulated minutes pass in fractions of a second; real Azure keeps the 30 s default.
        poll_interval_seconds=0.2,
        retry_backoff_seconds=0.1,
        gateway_deadline_seconds=deadline_s,
        cluster_deadline_seconds=deadline_s,
        connection_deadline_seconds=deadline_s,
        resource_deadline_seconds=deadline_s,
        retry_deadline_seconds=deadline_s,
    )


def cmd_connect(args: argparse.Namespace) -> int:
    info = running(Path(args.state_dir))
    if info is None:
        print("sandbox: not running; start it with `multidc sandbox up`")
        return 1
    block = sandbox_cloud(info)
    block.save(args.block, overwrite=True)  # type: ignore[attr-defined]
    print(f"saved AzureCloud block {args.block!r} for the sandbox at {info['arm_url']}")
    return EXIT_OK


def cmd_kubeconfig(args: argparse.Namespace) -> int:
    """Write a kubeconfig with one context per sandbox cluster, like `az aks get-credentials`."""
    info = running(Path(args.state_dir))
    if info is None:
        print("sandbox: not running; start it with `multidc sandbox up`")
        return 1
    with urllib.request.urlopen(info["admin_url"] + "/kubeconfig", timeout=10) as resp:  # noqa: S310 - loopback
        text = resp.read().decode()
    out = Path(args.out or Path(args.state_dir) / "sandbox.kubeconfig")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600, exist_ok=True)
    out.chmod(0o600)  # it holds the clusters' tokens
    out.write_text(text)
    contexts = [c["name"] for c in yaml.safe_load(text).get("contexts") or []]
    if not contexts:
        print(f"wrote {out}: no clusters yet (AKS clusters appear once a flow has created them)")
        return EXIT_OK
    print(f"wrote {out} with contexts: {', '.join(contexts)}")
    print(f"  try: KUBECONFIG={out} kubectl --context {contexts[0]} get pods -A")
    return EXIT_OK


def cmd_down(args: argparse.Namespace) -> int:
    was = down(Path(args.state_dir), purge=args.purge)
    print("sandbox stopped" if was else "sandbox was not running")
    return EXIT_OK


def add_sandbox(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sandbox", help="run the local Azure/Kubernetes/Cassandra simulator")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, func, text in (
        ("up", cmd_up, "start the sandbox (or find the running one) and print its endpoints"),
        ("status", cmd_status, "print the sandbox's clusters, rings and request counts"),
        ("down", cmd_down, "stop the sandbox; its state stays for the next `up` unless --purge"),
        ("connect", cmd_connect, "save a Prefect AzureCloud block that points at the running sandbox"),
        ("kubeconfig", cmd_kubeconfig, "write a kubeconfig with a context per sandbox cluster (for kubectl)"),
    ):
        p = actions.add_parser(name, help=text, description=text)
        p.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR), help="where state, CA and logs live")
        p.set_defaults(func=func)
        if name == "up":
            p.add_argument(
                "--time-scale",
                type=float,
                default=DEFAULT_TIME_SCALE,
                help="real seconds per simulated Azure second",
            )
            p.add_argument(
                "--existing",
                choices=sorted(EXISTING_PRESETS),
                default=None,
                help="also start existing (non-Azure) clusters and write their kubeconfig",
            )
        if name == "connect":
            p.add_argument("--block", default=naming.DEFAULT_CLOUD_BLOCK, help="name of the AzureCloud block to save")
        if name == "kubeconfig":
            p.add_argument("--out", default=None, help="where to write it (default: <state-dir>/sandbox.kubeconfig)")
        if name == "down":
            p.add_argument("--purge", action="store_true", help="forget the sandbox's state too")
