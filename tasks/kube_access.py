"""How tasks reach one datacenter's Kubernetes API, and run a command in a pod."""

from __future__ import annotations

import os
from dataclasses import dataclass

from kubernetes import config as k8s_config
from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.stream import stream

from blocks.kube import load_kubeconfig
from multidc_core.spec import Datacenter, Provider, RingSpec
from tasks.kube_client import api_client

# nodetool and cqlsh answer in seconds on a healthy node; a hung JVM should not hang the flow.
EXEC_TIMEOUT_S = 60


@dataclass(frozen=True)
class ExecResult:
    returncode: int
    stdout: str
    stderr: str


def api_for(spec: RingSpec, dc: Datacenter) -> ApiClient:
    """An ApiClient for the DC's cluster: the saved kubeconfig block (AKS) or the user's file (existing)."""
    if dc.provider is Provider.AZURE:
        block = load_kubeconfig(spec.name, dc.name)
        return api_client(lambda config: k8s_config.load_kube_config_from_dict(
            block.config_dict(), context=block.context, client_configuration=config))
    kc = dc.kubeconfig
    assert kc is not None  # guaranteed by validation
    return api_client(lambda config: k8s_config.load_kube_config(
        config_file=os.path.expanduser(kc.path), context=kc.context, client_configuration=config))


def exec_in_pod(
    api: ApiClient,
    namespace: str,
    pod: str,
    argv: list[str],
    container: str | None = "cassandra",
    timeout_s: float = EXEC_TIMEOUT_S,
) -> ExecResult:
    """Run argv in the pod through the API server's exec (the way `kubectl exec` does).

    A command still running after `timeout_s` is left running in the pod; the result then has
    return code -1 (no exit status came back).
    """
    ws = stream(
        CoreV1Api(api).connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=argv,
        container=container,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        ws.run_forever(timeout=timeout_s)
        out, err = ws.read_stdout(), ws.read_stderr()
        rc = ws.returncode
    finally:
        ws.close()
    return ExecResult(int(rc) if rc is not None else -1, out or "", err or "")
