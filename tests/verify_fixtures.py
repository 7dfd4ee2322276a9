"""A 2-DC sandbox ring for the verify-ring tests: built through the real clients, kubeconfigs saved as blocks."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from kubernetes.client import ApiClient, CoreV1Api
from prefect import flow
from prefect.blocks.system import Secret
from pydantic import SecretStr

from blocks.kube import save_kubeconfig
from multidc_core import naming
from multidc_core.load import load_spec
from multidc_core.naming import admin_block_name
from multidc_core.spec import RingSpec
from sandbox.harness import ThreadedWorld
from tasks.cassandra_cql import configure_auth
from tests import sandbox_steps as steps
from tests.ring_fixtures import FAST

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASSWORD = "verify-test-admin-password"


@dataclass
class BuiltRing:
    tw: ThreadedWorld
    spec: RingSpec
    spec_path: Path
    apis: dict[str, ApiClient]

    def cluster(self, dc: str) -> str:
        return naming.cluster_name(self.spec.name, dc)

    def pod_ip(self, dc: str, pod: str) -> str:
        ip: str = CoreV1Api(self.apis[dc]).read_namespaced_pod(pod, self.spec.dc(dc).namespace).status.pod_ip
        return ip

    def wait_ready(self, dc: str, count: int) -> None:
        ns = self.spec.dc(dc).namespace
        steps.eventually(lambda: steps.ready_pods(self.apis[dc], ns) == count, 60)


def sandbox_spec(ring: str, tmp: Path) -> tuple[RingSpec, Path]:
    """The sandbox example under another ring name, so no other test's blocks (admin, kubeconfig) apply."""
    text = (EXAMPLES / "sandbox.yaml").read_text().replace("name: sandbox", f"name: {ring}", 1)
    path = tmp / f"{ring}.yaml"
    path.write_text(text)
    return load_spec(text), path


def build_ring(tw: ThreadedWorld, ring: str, tmp: Path, *, dns: bool = True) -> BuiltRing:
    """The seeds' runbook (as in test_sandbox_scenario), then each DC's kubeconfig saved for `api_for`."""
    spec, path = sandbox_spec(ring, tmp)
    assert tw.world.arm is not None
    az = steps.azure_clients(tw.world.arm.url, str(tw.world.arm.ca_path))
    steps.provision(az, spec)
    apis = {dc.name: steps.kube_for(az, spec, dc.name) for dc in spec.datacenters}
    dns_ips = {dc: steps.expose_dns(api, spec, dc) for dc, api in apis.items()}
    if dns:
        for dc, api in apis.items():
            steps.forward_dns(api, spec, dc, {o: ip for o, ip in dns_ips.items() if o != dc})
    built = BuiltRing(tw, spec, path, apis)
    for dc in spec.datacenters:
        steps.deploy_cassandra(apis[dc.name], spec, dc.name, PASSWORD)
        steps.start_nodes(apis[dc.name], spec, dc.name)
        built.wait_ready(dc.name, dc.cassandra.nodes)
        rg = dc.azure.resource_group  # type: ignore[union-attr]
        cred = az.aks.managed_clusters.list_cluster_admin_credentials(rg, naming.cluster_name(spec.name, dc.name))
        raw = cred.kubeconfigs[0].value  # type: ignore[index]
        text = raw.decode() if isinstance(raw, bytes) else base64.b64decode(raw).decode()
        save_kubeconfig(spec.name, dc.name, text)
    if dns:
        take_over_auth(built)
    return built


def take_over_auth(built: BuiltRing) -> None:
    """Auth as deploy-ring leaves it (its own configure_auth task): system keyspaces in every DC, the
    admin role of the pods' Secret, kept in the ring's admin block, and the default superuser off.

    At the image's defaults a login is chance: system_auth has one replica, so the default superuser
    (read at QUORUM) cannot log in while the one node holding its row is down or partitioned away.
    """
    admin = json.dumps({"username": "admin", "password": PASSWORD})  # what deploy_cassandra put in the Secret
    Secret(value=SecretStr(admin)).save(admin_block_name(built.spec.name), overwrite=True)
    assert auth_flow(built.spec) == "cassandra"


@flow(name="verify-fixture-auth")
def auth_flow(spec: RingSpec) -> str:
    """configure_auth in a flow run of its own, as deploy-ring runs it (so its logs reach the API)."""
    return configure_auth(spec, waits=FAST)
