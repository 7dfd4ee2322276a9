"""The ring spec: one declarative description of a multi-datacenter Cassandra ring."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
HEAP = re.compile(r"^[1-9][0-9]*[MG]$")
AZURE_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]{0,78}[A-Za-z0-9_]$")
SUBSCRIPTION_ID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _int_as_text(value: object) -> object:
    # YAML reads `cpu: 2` and `zones: [1, 2]` as ints; an int becomes text without loss,
    # a float would not (1.30 -> "1.3"), so floats stay errors that say "quote it".
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


IntText = Annotated[str, BeforeValidator(_int_as_text)]


def _address_text(value: object) -> object:
    # ipaddress reads a bare integer as an address (10 -> 0.0.0.10): in a spec that is a typo.
    if isinstance(value, bool | int | float):
        raise ValueError("write an address or CIDR as text, e.g. '10.1.0.0/16' or '10.1.0.10'")
    return value


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_address_text)]
Address = Annotated[ipaddress.IPv4Address, BeforeValidator(_address_text)]


class InterconnectMode(StrEnum):
    VPN_GATEWAY = "vpn-gateway"
    GLOBAL_PEERING = "global-peering"
    NONE = "none"


class Provider(StrEnum):
    AZURE = "azure"
    KUBECONFIG = "kubeconfig"


class Strict(BaseModel):
    """Base for every spec model: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Rack(Strict):
    name: str = Field(description="Cassandra rack name (CASSANDRA_RACK), DNS-1123 label.")
    zone: IntText | None = Field(
        default=None,
        description="Availability zone the rack's pods are pinned to; required when the DC has zones.",
    )


class CassandraDC(Strict):
    nodes: int = Field(default=3, ge=1, le=1000, description="Cassandra nodes in this DC.")
    racks: list[Rack] = Field(
        default_factory=lambda: [Rack(name="rack1")],
        min_length=1,
        description="Racks, each mapped to a zone; nodes are spread over them round-robin.",
    )
    storage_class: str = Field(
        default="managed-csi-premium", description="StorageClass for each node's data PVC."
    )
    disk_size: IntText = Field(default="10Gi", description="Size of each node's data volume.")
    heap: str = Field(default="2G", description="MAX_HEAP_SIZE, e.g. 2G; set explicitly.")
    heap_new: str = Field(default="512M", description="HEAP_NEWSIZE, e.g. 512M.")
    cpu: IntText = Field(default="2", description="CPU request and limit per node.")
    memory: IntText = Field(default="8Gi", description="Memory request and limit per node.")
    rebuild_from: str | None = Field(
        default=None,
        description="When this DC is added to a live ring: the DC its nodes stream their data from "
        "(`nodetool rebuild -- <dc>`); default the nearest live DC (same cloud, region, geography, then spec order).",
    )
    auto_bootstrap: bool = Field(
        default=True,
        description="cassandra.yaml auto_bootstrap. multidc sets it false itself for a DC it adds to a live "
        "ring (its data comes by rebuild); leave it out.",
    )


class AzureDC(Strict):
    subscription_id: str = Field(description="Azure subscription id (GUID) for this DC.")
    location: str = Field(description="Azure region, e.g. eastus.")
    resource_group: str = Field(description="Resource group created for this DC.")
    vnet_cidr: Cidr = Field(description="Address space of the DC's VNet.")
    node_subnet: Cidr = Field(
        description="Subnet for AKS nodes and pods (Azure CNI), inside vnet_cidr."
    )
    gateway_subnet: Cidr = Field(
        description="GatewaySubnet, inside vnet_cidr; /27 or larger unless the SKU is Basic."
    )
    service_cidr: Cidr = Field(
        description="Kubernetes service CIDR; outside every VNet and AKS's reserved ranges."
    )
    dns_service_ip: Address = Field(
        description="kube-dns ClusterIP, inside service_cidr and not its first address."
    )
    dns_lb_ip: Address | None = Field(
        default=None,
        description="Pinned internal LoadBalancer address for this cluster's DNS, in node_subnet.",
    )
    node_count: int = Field(default=3, ge=1, le=1000, description="AKS system pool node count.")
    vm_size: str = Field(default="Standard_D4s_v5", description="AKS node VM size.")
    zones: list[IntText] = Field(
        default_factory=list, description='Availability zones for the node pool, e.g. ["1","2","3"].'
    )
    kubernetes_version: str | None = Field(
        default=None, description="AKS Kubernetes version; the region's default when empty."
    )


class DnsExposure(StrEnum):
    LOADBALANCER = "loadbalancer"
    NODEPORT = "nodeport"
    ADDRESS = "address"


class CorednsMode(StrEnum):
    CUSTOM = "coredns-custom"
    COREFILE = "corefile"


class Cloud(StrEnum):
    """Who runs an existing cluster: decides the internal load balancer annotations and CoreDNS's setup."""

    AKS = "aks"
    EKS = "eks"
    GKE = "gke"
    OTHER = "other"


class KubeconfigDC(Strict):
    path: str = Field(description="Path to the kubeconfig file holding this cluster's context.")
    context: str = Field(description="Context name inside the kubeconfig.")
    cloud: Cloud = Field(
        default=Cloud.OTHER,
        description="Which cloud runs the cluster (aks, eks with the AWS Load Balancer Controller, gke, "
        "other): decides the annotations that keep the DNS load balancer internal.",
    )
    dns_lb_annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Annotations on the DNS LoadBalancer Service instead of the cloud's own; required "
        "with cloud 'other' and dns_exposure 'loadbalancer' (those that make it internal there).",
    )
    dns_exposure: DnsExposure = Field(
        default=DnsExposure.LOADBALANCER,
        description="How this cluster's DNS is reached from the others.",
    )
    dns_addresses: list[Address] = Field(
        default_factory=list,
        description="Node addresses (nodeport) or the one DNS address (address mode).",
    )
    coredns_mode: CorednsMode | None = Field(
        default=None,
        description="coredns-custom (AKS imports it) or editing the coredns Corefile (EKS, kubeadm); "
        "when empty, coredns-custom on cloud aks and the Corefile elsewhere.",
    )
    pod_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Pod address ranges of this cluster, for the NetworkPolicy peers.",
    )
    node_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Node address ranges, for the NetworkPolicy peers: needed where the CNI rewrites "
        "pods' traffic to other networks to the node's address (EKS VPC CNI by default).",
    )

    @property
    def dns_mode(self) -> CorednsMode:
        """coredns_mode, or what the cloud's CoreDNS reads when the spec does not say."""
        if self.coredns_mode is not None:
            return self.coredns_mode
        return CorednsMode.CUSTOM if self.cloud is Cloud.AKS else CorednsMode.COREFILE


class Datacenter(Strict):
    name: str = Field(description="Cassandra datacenter name (CASSANDRA_DC), DNS-1123 label.")
    namespace: str = Field(
        description="Kubernetes namespace; unique across clusters (it is the DNS zone)."
    )
    provider: Provider = Field(description="azure: created by multidc; kubeconfig: existing.")
    azure: AzureDC | None = Field(default=None, description="Required when provider is azure.")
    kubeconfig: KubeconfigDC | None = Field(
        default=None, description="Required when provider is kubeconfig."
    )
    cassandra: CassandraDC = Field(
        default_factory=CassandraDC, description="Cassandra settings for this DC."
    )


class Interconnect(Strict):
    mode: InterconnectMode = Field(
        default=InterconnectMode.VPN_GATEWAY, description="How the DCs' networks reach each other."
    )
    gateway_sku: str = Field(default="VpnGw1AZ", description="VPN gateway SKU (VpnGw1AZ..5AZ).")


class Keyspace(Strict):
    name: str = Field(description="Keyspace name: letters, digits, underscore; 48 at most.")
    replication: dict[str, int] = Field(description="Replica count per datacenter name.")


class CassandraRing(Strict):
    image: str = Field(default="cassandra:5.0", description="Cassandra container image.")
    version: str | None = Field(
        default=None,
        description="Cassandra major.minor of the image (4.0, 4.1 or 5.0); needed only when the "
        "image tag does not say it (e.g. latest or a digest). cassandra.yaml is rendered for it.",
    )
    auth: bool = Field(default=True, description="PasswordAuthenticator with a new superuser.")
    num_tokens: int = Field(default=16, ge=1, le=256, description="num_tokens per node.")
    system_rf: int | None = Field(
        default=None,
        ge=1,
        description="Replicas per DC for system_auth and friends; min(3, nodes) when empty.",
    )


class RingSpec(Strict):
    name: str = Field(description="Ring (Cassandra cluster) name; prefixes every resource.")
    cassandra: CassandraRing = Field(default_factory=CassandraRing, description="Ring-wide settings.")
    interconnect: Interconnect = Field(
        default_factory=Interconnect, description="How datacenters are joined."
    )
    datacenters: Annotated[list[Datacenter], Field(min_length=1)] = Field(
        description="One entry per Kubernetes cluster / Cassandra datacenter."
    )
    keyspaces: list[Keyspace] = Field(default_factory=list, description="Keyspaces to create.")

    @field_validator("name")
    @classmethod
    def _name_is_label(cls, v: str) -> str:
        # Checked here too (not only in validate) because the name prefixes every resource.
        if not DNS1123_LABEL.match(v) or len(v) > 40:
            raise ValueError(
                "must be a DNS-1123 label of at most 40 characters "
                "(lower-case letters, digits and '-')"
            )
        return v

    def dc(self, name: str) -> Datacenter:
        for dc in self.datacenters:
            if dc.name == name:
                return dc
        raise KeyError(name)

    @property
    def azure_dcs(self) -> list[Datacenter]:
        return [dc for dc in self.datacenters if dc.provider is Provider.AZURE]


Sku = Literal["Basic", "VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ"]
