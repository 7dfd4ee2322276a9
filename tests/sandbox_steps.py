"""The seeds' runbook, step by step, through the real clients only: used by the sandbox scenario tests."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kubernetes
import yaml
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api
from kubernetes.stream import stream
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from multidc_core import azure_bodies as bodies
from multidc_core import manifests, naming
from multidc_core.spec import RingSpec
from tasks.start_gate import gate_state

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
SHARED_KEY = "test-shared-key"  # a test value; the product generates and keeps it in a Secret block


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("sandbox-token", int(time.time()) + 3600)


@dataclass
class Azure:
    resource: ResourceManagementClient
    network: NetworkManagementClient
    aks: ContainerServiceClient
    msi: ManagedServiceIdentityClient
    auth: AuthorizationManagementClient


def azure_clients(arm_url: str, ca_path: str) -> Azure:
    kw: dict[str, Any] = {
        "base_url": arm_url,
        "credential_scopes": ["https://management.azure.com/.default"],
        "connection_verify": ca_path,
        "polling_interval": 0.05,  # sub-second operations answer Retry-After: 0
    }
    cred = FakeCredential()
    return Azure(
        ResourceManagementClient(cred, SUBSCRIPTION, **kw),  # type: ignore[arg-type]
        NetworkManagementClient(cred, SUBSCRIPTION, **kw),  # type: ignore[arg-type]
        ContainerServiceClient(cred, SUBSCRIPTION, **kw),  # type: ignore[arg-type]
        ManagedServiceIdentityClient(cred, SUBSCRIPTION, **kw),  # type: ignore[arg-type]
        AuthorizationManagementClient(cred, SUBSCRIPTION, **kw),  # type: ignore[arg-type]
    )


class NotYet(Exception):
    pass


def eventually(check: Any, timeout: float = 60.0) -> Any:
    """Poll check() until it returns a truthy value (tests only; bounded)."""
    for attempt in Retrying(
        retry=retry_if_exception_type(NotYet),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(0.05),
        reraise=True,
    ):
        with attempt:
            value = check()
            if not value:
                raise NotYet()
            return value
    raise AssertionError("unreachable")


def provision(
    az: Azure, spec: RingSpec, connections: list[tuple[str, str]] | None = None, peering: bool = False
) -> None:
    """Networks, gateways beside clusters, then the given connections (default: the full mesh)."""
    names = [dc.name for dc in spec.azure_dcs]
    rg = {dc.name: dc.azure.resource_group for dc in spec.azure_dcs if dc.azure}
    for n in names:
        az.resource.resource_groups.create_or_update(rg[n], bodies.resource_group(spec, n))
    vnets = {
        n: az.network.virtual_networks.begin_create_or_update(
            rg[n], naming.vnet_name(spec.name, n), (bodies.virtual_network(spec, n))
        )
        for n in names
    }
    for p in vnets.values():
        p.result()
    gateways = []
    if not peering:
        for n in names:
            az.network.public_ip_addresses.begin_create_or_update(
                rg[n], naming.public_ip_name(spec.name, n), (bodies.public_ip(spec, n))
            ).result()
            gateways.append(
                az.network.virtual_network_gateways.begin_create_or_update(
                    rg[n], naming.gateway_name(spec.name, n), (bodies.virtual_network_gateway(spec, n))
                )
            )
    clusters = []
    for n in names:
        ident = az.msi.user_assigned_identities.create_or_update(
            rg[n], naming.identity_name(spec.name, n), (bodies.user_assigned_identity(spec, n))
        )
        ra = bodies.with_principal_id(bodies.role_assignment(spec, n), str(ident.principal_id))
        # A new identity is invisible to role assignments for a while (PrincipalNotFound): retry, as Azure advises.
        for attempt in Retrying(
            retry=retry_if_exception_type(HttpResponseError), stop=stop_after_delay(30), wait=wait_fixed(0.05), reraise=True
        ):
            with attempt:
                az.auth.role_assignments.create(
                    naming.role_assignment_scope(spec, n),
                    naming.dc_role_assignment_name(spec, n, str(ident.principal_id)),
                    ra,
                )
        clusters.append(
            az.aks.managed_clusters.begin_create_or_update(
                rg[n], naming.cluster_name(spec.name, n), (bodies.managed_cluster(spec, n))
            )
        )
    for p in gateways + clusters:
        p.result()
    pairs = connections if connections is not None else bodies.mesh(spec)
    for src, dst in pairs:
        if peering:
            az.network.virtual_network_peerings.begin_create_or_update(
                rg[src],
                naming.vnet_name(spec.name, src),
                naming.peering_name(spec.name, src, dst),
                (bodies.peering(spec, src, dst)),
            ).result()
        else:
            body = bodies.with_shared_key(bodies.connection(spec, src, dst), SHARED_KEY)
            az.network.virtual_network_gateway_connections.begin_create_or_update(
                rg[src], naming.connection_name(spec.name, src, dst), (body)
            ).result()


def kube_for(az: Azure, spec: RingSpec, dc: str) -> ApiClient:
    rg = spec.dc(dc).azure.resource_group  # type: ignore[union-attr]
    cred = az.aks.managed_clusters.list_cluster_admin_credentials(rg, naming.cluster_name(spec.name, dc))
    raw = cred.kubeconfigs[0].value
    text = raw.decode() if isinstance(raw, bytes) else base64.b64decode(raw).decode()
    return kubernetes.config.new_client_from_config_dict(yaml.safe_load(text))


def apply(api: ApiClient, manifest: dict[str, Any]) -> None:
    try:
        kubernetes.utils.create_from_dict(api, manifest)
    except kubernetes.utils.FailToCreateError as exc:
        if any(e.status != 409 for e in exc.api_exceptions):
            raise


def expose_dns(
    api: ApiClient, spec: RingSpec, dc: str, resolve: Callable[[str], str | None] | None = None
) -> str:
    """The DNS load balancer's address; `resolve` turns an EKS-like cluster's DNS name into one."""
    svc = manifests.dns_service(spec, spec.dc(dc))
    assert svc is not None
    apply(api, svc)
    core = CoreV1Api(api)

    def address() -> str | None:
        ingress = core.read_namespaced_service("multidc-dns", "kube-system").status.load_balancer.ingress
        if not ingress:
            return None
        return ingress[0].ip or (resolve(ingress[0].hostname) if resolve and ingress[0].hostname else None)

    ip: str = eventually(address)
    return ip


def forward_dns(api: ApiClient, spec: RingSpec, dc: str, remote_dns: dict[str, str]) -> None:
    cm = manifests.coredns_custom(spec, spec.dc(dc), remote_dns)
    CoreV1Api(api).patch_namespaced_config_map("coredns-custom", "kube-system", {"data": cm["data"]})
    AppsV1Api(api).patch_namespaced_deployment(
        "coredns", "kube-system", manifests.coredns_restart_patch(time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    )


def deploy_cassandra(api: ApiClient, spec: RingSpec, dc: str, password: str) -> None:
    d = spec.dc(dc)
    objs = manifests.cassandra_manifests(spec, d)
    apply(api, objs[0])  # the namespace first: the Secret lives in it
    apply(api, manifests.admin_secret(d.namespace, "admin", password))
    for obj in objs[1:]:
        apply(api, obj)


def start_nodes(api: ApiClient, spec: RingSpec, dc: str, timeout: float = 60.0) -> None:
    """Each pod in node order: at its start gate, granted (`kubectl exec -c start-gate <pod> -- touch
    <file>`), then Ready before the next one (nodes beyond the seeds bootstrap one at a time)."""
    d = spec.dc(dc)
    core = CoreV1Api(api)
    for pod in naming.pods(d):
        def gate(pod: str = pod) -> str:
            try:
                live = api.sanitize_for_serialization(core.read_namespaced_pod(pod, d.namespace))
            except kubernetes.client.ApiException as exc:
                if exc.status == 404:
                    raise NotYet() from exc
                raise
            state = gate_state(live)
            if state is None:
                raise NotYet()
            return state

        if eventually(gate, timeout) == "held":
            rc, _, err = exec_in(api, d.namespace, pod, ["touch", naming.START_GRANT_FILE],
                                 naming.START_GATE_CONTAINER)
            assert rc == 0, err

        def ready(pod: str = pod) -> bool:
            live = core.read_namespaced_pod(pod, d.namespace)
            return any(c.type == "Ready" and c.status == "True" for c in live.status.conditions or [])

        eventually(ready, timeout)


def pods_of(spec: RingSpec, dc: str) -> list[str]:
    return naming.pods(spec.dc(dc))


def ready_pods(api: ApiClient, ns: str) -> int:
    items = CoreV1Api(api).list_namespaced_pod(ns).items
    return sum(
        1 for p in items if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    )


def exec_in(api: ApiClient, ns: str, pod: str, argv: list[str], container: str = "cassandra") -> tuple[int, str, str]:
    core = CoreV1Api(api)
    ws = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        ns,
        command=argv,
        container=container,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    ws.run_forever(timeout=30)
    out, err = ws.read_stdout(), ws.read_stderr()
    rc = ws.returncode
    ws.close()
    return int(rc), out, err


DEFAULT_SUPERUSER = ("cassandra", "cassandra")  # the image's well-known default, which multidc disables


def cql(
    api: ApiClient, ns: str, pod: str, statements: str, login: tuple[str, str] = DEFAULT_SUPERUSER
) -> tuple[int, str, str]:
    user, password = login
    return exec_in(api, ns, pod, ["cqlsh", "-u", user, "-p", password, "-e", statements])
