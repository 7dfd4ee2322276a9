"""Every deterministic name, id, tag and label multidc uses (DESIGN.md "Names")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from multidc_core.spec import AzureDC, Datacenter, Provider, Rack, RingSpec

# --- ownership ----------------------------------------------------------------------------------

TAG_RING = "multidc-ring"
TAG_DC = "multidc-dc"
TAG_MANAGED_BY = "managed-by"
MANAGED_BY = "multidc"

LABEL_RING = "multidc.io/ring"
LABEL_DC = "multidc.io/dc"
LABEL_RACK = "multidc.io/rack"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_APP = "app.kubernetes.io/name"
APP = "cassandra"
# The first nodes of every DC are its seeds: they never bootstrap; later nodes stream data in.
SEEDS_PER_DC = 2


def tags(ring: str, dc: str) -> dict[str, str]:
    """Ownership tags carried by every Azure resource."""
    return {TAG_MANAGED_BY: MANAGED_BY, TAG_DC: dc, TAG_RING: ring}


def labels(ring: str, dc: str) -> dict[str, str]:
    """Ownership labels carried by every Kubernetes object."""
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_DC: dc, LABEL_RING: ring}


# --- Prefect blocks and variables ---------------------------------------------------------------
# Ring and DC are DNS-1123 labels, so every name below is a valid block, variable and limit name.

DEFAULT_CLOUD_BLOCK = "multidc-sandbox"  # the AzureCloud block `multidc sandbox connect` saves


def kubeconfig_block_name(ring: str, dc: str) -> str:
    """The DatacenterKubeconfig block of one DC's cluster."""
    return f"multidc-{ring}-{dc}-kubeconfig"


def admin_block_name(ring: str) -> str:
    """The Prefect Secret block holding the ring's Cassandra superuser as JSON {username, password}."""
    return f"multidc-{ring}-cassandra-admin"


def shared_key_block_name(ring: str) -> str:
    """The Prefect Secret block that holds the ring's VPN shared key."""
    return f"multidc-{ring}-vpn-shared-key"


def adding_variable(ring: str) -> str:
    """The Prefect Variable listing the DCs added to the live ring whose rebuild has not finished."""
    return f"multidc-{ring}-adding-dcs"


def ring_lock_name(ring: str) -> str:
    """The Prefect global concurrency limit (of 1) that one run changing the ring holds."""
    return f"multidc-ring-{ring}"


def ring_lock_holder_variable(ring: str) -> str:
    """The Prefect Variable naming the flow run that holds the ring's lock."""
    return f"{ring_lock_name(ring)}-holder"


# --- Azure ----------------------------------------------------------------------------------------

NODE_SUBNET = "nodes"
GATEWAY_SUBNET = "GatewaySubnet"
NETWORK_CONTRIBUTOR_ROLE = "4d97b98b-1d4f-4787-a291-c67834d212e7"
# uuid5 needs a namespace; the URL namespace is fixed so that every run derives the same name.
ROLE_ASSIGNMENT_NAMESPACE = uuid.NAMESPACE_URL

T_VNET = "Microsoft.Network/virtualNetworks"
T_PUBLIC_IP = "Microsoft.Network/publicIPAddresses"
T_GATEWAY = "Microsoft.Network/virtualNetworkGateways"
T_CONNECTION = "Microsoft.Network/connections"
T_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities"
T_CLUSTER = "Microsoft.ContainerService/managedClusters"
T_ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
T_ROLE_DEFINITION = "Microsoft.Authorization/roleDefinitions"


def vnet_name(ring: str, dc: str) -> str:
    return f"{ring}-{dc}-vnet"


def public_ip_name(ring: str, dc: str) -> str:
    return f"{ring}-{dc}-gw-ip"


def gateway_name(ring: str, dc: str) -> str:
    return f"{ring}-{dc}-gw"


def connection_name(ring: str, src: str, dst: str) -> str:
    """Gateway connection in src's resource group, from src's gateway to dst's."""
    return f"{ring}-{src}-to-{dst}"


def peering_name(ring: str, src: str, dst: str) -> str:
    """Peering on src's VNet towards dst's VNet."""
    return f"{ring}-{src}-to-{dst}"


def identity_name(ring: str, dc: str) -> str:
    return f"{ring}-{dc}-aks-id"


def cluster_name(ring: str, dc: str) -> str:
    return f"{ring}-{dc}-aks"


def dns_prefix(ring: str, dc: str) -> str:
    return f"{ring}-{dc}"


def role_assignment_name(scope: str, principal_id: str, role_definition_id: str) -> str:
    """A role assignment's name: a GUID unique in the whole Entra tenant, whatever its scope.

    uuid5 of what makes the assignment (scope, principal, role), as Microsoft's templates do with
    guid(scope, principalId, roleDefinitionId): the same ring and DC names in two subscriptions
    give two names, and every run gives the same one.
    """
    parts = "/".join(p.lower() for p in (scope, principal_id, role_definition_id))
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, parts))


def arm_id(subscription: str, rg: str, provider_type: str, name: str, *child: str) -> str:
    """`/subscriptions/S/resourceGroups/G/providers/NS/type/name[/childType/childName...]`."""
    base = f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/{provider_type}/{name}"
    return "/".join((base, *child)) if child else base


def resource_group_id(subscription: str, rg: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{rg}"


def _az(spec: RingSpec, dc: str) -> AzureDC:
    d = spec.dc(dc)
    if d.azure is None:
        raise ValueError(f"datacenter {dc!r} is not an azure datacenter")
    return d.azure


def _id(spec: RingSpec, dc: str, provider_type: str, name: str, *child: str) -> str:
    az = _az(spec, dc)
    return arm_id(az.subscription_id, az.resource_group, provider_type, name, *child)


def vnet_id(spec: RingSpec, dc: str) -> str:
    return _id(spec, dc, T_VNET, vnet_name(spec.name, dc))


def subnet_id(spec: RingSpec, dc: str, subnet: str = NODE_SUBNET) -> str:
    return _id(spec, dc, T_VNET, vnet_name(spec.name, dc), "subnets", subnet)


def public_ip_id(spec: RingSpec, dc: str) -> str:
    return _id(spec, dc, T_PUBLIC_IP, public_ip_name(spec.name, dc))


def gateway_id(spec: RingSpec, dc: str) -> str:
    return _id(spec, dc, T_GATEWAY, gateway_name(spec.name, dc))


def connection_id(spec: RingSpec, src: str, dst: str) -> str:
    return _id(spec, src, T_CONNECTION, connection_name(spec.name, src, dst))


def peering_id(spec: RingSpec, src: str, dst: str) -> str:
    return _id(
        spec,
        src,
        T_VNET,
        vnet_name(spec.name, src),
        "virtualNetworkPeerings",
        peering_name(spec.name, src, dst),
    )


def identity_id(spec: RingSpec, dc: str) -> str:
    return _id(spec, dc, T_IDENTITY, identity_name(spec.name, dc))


def cluster_id(spec: RingSpec, dc: str) -> str:
    return _id(spec, dc, T_CLUSTER, cluster_name(spec.name, dc))


def role_definition_id(subscription: str, role: str = NETWORK_CONTRIBUTOR_ROLE) -> str:
    return f"/subscriptions/{subscription}/providers/{T_ROLE_DEFINITION}/{role}"


def role_assignment_scope(spec: RingSpec, dc: str) -> str:
    """Network Contributor is granted on the node subnet only, the narrowest scope AKS needs."""
    return subnet_id(spec, dc, NODE_SUBNET)


def dc_role_assignment_name(spec: RingSpec, dc: str, principal_id: str) -> str:
    """The name of the DC's Network Contributor grant to `principal_id` (the cluster identity)."""
    scope = role_assignment_scope(spec, dc)
    return role_assignment_name(scope, principal_id, role_definition_id(_az(spec, dc).subscription_id))


# --- Kubernetes -----------------------------------------------------------------------------------

KUBE_SYSTEM = "kube-system"
SECRET_NAME = "cassandra-admin"  # noqa: S105 (key names, not secrets)
SECRET_USERNAME_KEY = "username"  # noqa: S105 (key names, not secrets)
SECRET_PASSWORD_KEY = "password"  # noqa: S105 (key names, not secrets)
CONFIGMAP_NAME = "cassandra-config"
CONFIGMAP_KEY = "cassandra.yaml"
SERVICE_NAME = "cassandra"
CONTAINER_NAME = "cassandra"
PDB_NAME = "cassandra"
NETWORK_POLICY_NAME = "cassandra"
DNS_SERVICE_NAME = "multidc-dns"
COREDNS_CUSTOM = "coredns-custom"
COREDNS_DEPLOYMENT = "coredns"
KUBE_DNS_SELECTOR = {"k8s-app": "kube-dns"}
ZONE_LABEL = "topology.kubernetes.io/zone"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
CONFIG_CHECKSUM_ANNOTATION = "multidc.io/config-checksum"  # sha256 of cassandra.yaml, in the pod template
REVISION_LABEL = "controller-revision-hash"  # set by the StatefulSet controller on each pod
CLUSTER_DOMAIN = "cluster.local"
DATA_VOLUME = "data"  # the StatefulSet's volumeClaimTemplate, mounted at the data directory
DNS_PROBE_POD = "multidc-dns-probe"  # the pod in each DC's namespace that resolves the other DCs' names
START_GATE_CONTAINER = "start-gate"  # the init container that holds Cassandra until its node may start
START_GRANT_FILE = "/var/lib/cassandra/multidc-start-granted"  # on the data volume: the node may start


def statefulset_name(rack: str) -> str:
    return f"cassandra-{rack}"


def pod_name(rack: str, ordinal: int) -> str:
    return f"{statefulset_name(rack)}-{ordinal}"


def pvc_name(pod: str) -> str:
    """The pod's data PVC, as the StatefulSet controller names it: <claim template>-<pod>."""
    return f"{DATA_VOLUME}-{pod}"


def pod_fqdn(pod: str, namespace: str) -> str:
    return f"{pod}.{SERVICE_NAME}.{namespace}.svc.{CLUSTER_DOMAIN}"


def namespace_zone(namespace: str) -> str:
    """The DNS zone a namespace is, across clusters (why namespaces must be unique)."""
    return f"{namespace}.svc.{CLUSTER_DOMAIN}"


def coredns_custom_key(namespace: str) -> str:
    return f"multidc-{namespace}.server"


def selector(ring: str, dc: str) -> dict[str, str]:
    """Selects every Cassandra pod of one DC (namespaces are per DC, the ring label is belt and braces)."""
    return {LABEL_APP: APP, LABEL_DC: dc, LABEL_RING: ring}


def rack_selector(ring: str, dc: str, rack: str) -> dict[str, str]:
    return {**selector(ring, dc), LABEL_RACK: rack}


def zone_label(dc: Datacenter, rack: Rack) -> str | None:
    """Value of topology.kubernetes.io/zone for a rack's nodes.

    AKS labels nodes `<location>-<zone>` (eastus-1) while specs name Azure zones "1", "2", "3";
    any other value is used verbatim (existing clusters name their zones themselves).
    """
    if rack.zone is None:
        return None
    if dc.provider is Provider.AZURE and dc.azure is not None and rack.zone.isdigit():
        return f"{dc.azure.location}-{rack.zone}"
    return rack.zone


@dataclass(frozen=True)
class RackNodes:
    rack: Rack
    replicas: int

    @property
    def statefulset(self) -> str:
        return statefulset_name(self.rack.name)


def rack_nodes(dc: Datacenter) -> list[RackNodes]:
    """StatefulSet replica count per rack: node i goes to rack i mod len(racks)."""
    racks = dc.cassandra.racks
    n = dc.cassandra.nodes
    return [RackNodes(r, (n - j + len(racks) - 1) // len(racks)) for j, r in enumerate(racks)]


def seed_replicas(dc: Datacenter) -> dict[str, int]:
    """Per StatefulSet, how many of its first pods are seeds (the DC's first nodes, round-robin)."""
    racks = dc.cassandra.racks
    out = {statefulset_name(r.name): 0 for r in racks}
    for i in range(min(SEEDS_PER_DC, dc.cassandra.nodes)):
        out[statefulset_name(racks[i % len(racks)].name)] += 1
    return out


def has_joiners(dc: Datacenter) -> bool:
    """Whether the DC has nodes beyond its seeds: those stream data, one node of the ring at a time."""
    return dc.cassandra.nodes > SEEDS_PER_DC


def pods(dc: Datacenter) -> list[str]:
    """Pod names in node order (round-robin over racks), so the first SEEDS_PER_DC are the seeds."""
    racks = dc.cassandra.racks
    return [pod_name(racks[i % len(racks)].name, i // len(racks)) for i in range(dc.cassandra.nodes)]


def dc_seeds(dc: Datacenter) -> list[str]:
    return [pod_fqdn(p, dc.namespace) for p in seed_pods(dc)]


def seed_pods(dc: Datacenter) -> list[str]:
    """The DC's seed pods: its first SEEDS_PER_DC pods in node order."""
    return pods(dc)[:SEEDS_PER_DC]


def seeds(spec: RingSpec) -> list[str]:
    """Seed FQDNs: the first two pods of every DC, in spec order."""
    return [s for dc in spec.datacenters for s in dc_seeds(dc)]


def seeds_csv(spec: RingSpec) -> str:
    return ",".join(seeds(spec))
