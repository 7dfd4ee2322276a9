"""The Azure cloud block: where ARM is, how to authenticate, and how patiently to wait."""

from __future__ import annotations

import atexit
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from prefect.blocks.core import Block
from pydantic import Field, SecretStr, model_validator

from blocks.arm_retry import ArmRetryPolicy

CredentialKind = Literal["default", "service-principal", "static-token"]
ArmClient = Literal["network", "containerservice", "resource", "authorization", "msi"]

# A static token is valid "forever" as far as azure-core's refresh logic is concerned.
_STATIC_TOKEN_LIFETIME_S = 24 * 3600


class StaticTokenCredential:
    """A TokenCredential that always hands out the same bearer token (the sandbox accepts any)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + _STATIC_TOKEN_LIFETIME_S)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo(self._token, int(time.time()) + _STATIC_TOKEN_LIFETIME_S)

    def close(self) -> None:
        """Nothing to release; here so every credential closes alike at exit."""


# One credential per process and identity: each holds its own token cache (and, for
# DefaultAzureCredential, a chain of sub-credentials with HTTP sessions), so a new one per client
# would ask Entra ID for a token per task. They are closed when the process exits.
_CREDENTIALS: dict[str, Any] = {}
_CREDENTIALS_LOCK = threading.Lock()


def close_credentials() -> None:
    """Close every credential this process made (registered with atexit)."""
    with _CREDENTIALS_LOCK:
        made = list(_CREDENTIALS.values())
        _CREDENTIALS.clear()
    for cred in made:
        cred.close()


atexit.register(close_credentials)


def _pin_api_version(version: str) -> Callable[[Any], None]:
    """azure-core raw_request_hook that sends `version` as every request's api-version.

    azure-mgmt-network (33, generated from TypeSpec) takes api_version per operation only and
    ignores it on the client, so the hook is what pins it for that client.
    """

    def hook(request: Any) -> None:
        http = request.http_request
        parts = urlsplit(http.url)
        query = [(k, version if k.lower() == "api-version" else v) for k, v in parse_qsl(parts.query, True)]
        http.url = urlunsplit(parts._replace(query=urlencode(query)))

    return hook


class AzureCloud(Block):
    """An Azure cloud: ARM endpoint, credential and the waiting policy for slow resources.

    Public Azure, a sovereign cloud and the local sandbox differ only in these fields,
    so the flows never know which one they talk to.

    Attributes:
        tenant_id: Entra ID tenant (needed for service-principal).
        arm_endpoint: Base URL of Azure Resource Manager.
        credential_kind: default, service-principal or static-token.
        poll_interval_seconds: How often long-running operations are polled.
    """

    _block_type_name = "multidc Azure Cloud"
    _block_type_slug = "multidc-azure-cloud"
    _logo_url = "https://cdn.sanity.io/images/3ugk85nk/production/54e3fa7e00197a4fbd1d82ed62494cb58d08c96a-250x250.png"  # type: ignore[assignment]  # prefect-azure's Azure logo
    _documentation_url = "https://learn.microsoft.com/azure/azure-resource-manager/management/overview"  # type: ignore[assignment]
    _code_example = """
    ```python
    from blocks.azure import AzureCloud

    azure_cloud = AzureCloud.load("BLOCK_NAME")
    network = azure_cloud.network_client("00000000-0000-0000-0000-000000000000")
    ```
    """

    tenant_id: str | None = Field(
        default=None,
        description="Entra ID tenant id (GUID); required for the service-principal credential.",
    )
    arm_endpoint: str = Field(
        default="https://management.azure.com",
        description="Base URL of Azure Resource Manager; another cloud or the sandbox is another URL.",
    )
    credential_scopes: list[str] = Field(
        default_factory=lambda: ["https://management.azure.com/.default"],
        description="OAuth scopes requested for ARM tokens; sovereign clouds use their own audience.",
    )
    authority_host: str = Field(
        default="https://login.microsoftonline.com",
        description="Entra ID authority host that issues tokens (differs in sovereign clouds).",
    )
    ca_bundle: str | None = Field(
        default=None,
        description="PEM text of extra CA certificates that ARM's TLS certificate chains to (private endpoints, the sandbox).",
    )
    credential_kind: CredentialKind = Field(
        default="default",
        description="default: DefaultAzureCredential; service-principal: client id and secret; static-token: a fixed bearer token.",
    )
    client_id: str | None = Field(
        default=None, description="Application (client) id of the service principal."
    )
    client_secret: SecretStr | None = Field(
        default=None, description="Client secret of the service principal."
    )
    static_token: SecretStr | None = Field(
        default=None,
        description="Bearer token sent as is; only for endpoints that accept any token, such as the sandbox.",
    )
    poll_interval_seconds: float = Field(
        default=30,
        ge=0,
        description="Seconds between polls of a long-running operation; Azure asks for 30-60 s, the sandbox sets it low.",
    )
    gateway_deadline_seconds: float = Field(
        default=90 * 60,
        gt=0,
        description="Seconds to wait for a VPN gateway; they take 45 minutes or more, so twice that.",
    )
    cluster_deadline_seconds: float = Field(
        default=45 * 60,
        gt=0,
        description="Seconds to wait for an AKS cluster; typically 5-15 minutes, sometimes over 30.",
    )
    connection_deadline_seconds: float = Field(
        default=30 * 60,
        gt=0,
        description="Seconds to wait for a gateway connection or peering to report Connected.",
    )
    resource_deadline_seconds: float = Field(
        default=10 * 60,
        gt=0,
        description="Seconds to wait for a quick resource (group, VNet, public IP, identity) to finish provisioning.",
    )
    retry_deadline_seconds: float = Field(
        default=10 * 60,
        gt=0,
        description="Seconds to keep sending again a request or write ARM refuses as busy (operation in progress); "
        "408/429/5xx are sent again at most 10 times by the client's retry policy.",
    )
    api_versions: dict[ArmClient, str] = Field(
        default_factory=dict,
        description="api-version per client (network, containerservice, resource, authorization, msi) for a "
        "sovereign cloud whose providers lag public Azure's, e.g. {'network': '2024-05-01'}; empty: each SDK's default.",
    )
    retry_backoff_seconds: float = Field(
        default=2,
        ge=0,
        description="First back-off in seconds after a transient ARM error, doubled each time up to a minute; "
        "Retry-After wins (capped at a minute).",
    )

    @model_validator(mode="after")
    def _credential_is_complete(self) -> AzureCloud:
        needed: dict[str, list[str]] = {
            "service-principal": ["tenant_id", "client_id", "client_secret"],
            "static-token": ["static_token"],
        }
        missing = [name for name in needed.get(self.credential_kind, []) if not getattr(self, name)]
        if missing:
            raise ValueError(
                f"credential_kind {self.credential_kind!r} needs {' and '.join(missing)} to be set."
            )
        return self

    def credential(self) -> TokenCredential:
        """The process's one token credential for this identity (`credential_kind` and its fields)."""
        secret = self.client_secret or self.static_token
        identity = "|".join(
            [self.credential_kind, self.tenant_id or "", self.client_id or "", self.authority_host,
             hashlib.sha256(secret.get_secret_value().encode()).hexdigest() if secret else ""]
        )  # fmt: skip
        with _CREDENTIALS_LOCK:
            cred = _CREDENTIALS.get(identity)
            if cred is None:
                cred = _CREDENTIALS[identity] = self._new_credential()
            return cred

    def _new_credential(self) -> TokenCredential:
        if self.credential_kind == "static-token":
            assert self.static_token is not None  # the validator guarantees it
            return StaticTokenCredential(self.static_token.get_secret_value())
        if self.credential_kind == "service-principal":
            assert self.tenant_id and self.client_id and self.client_secret
            return ClientSecretCredential(
                self.tenant_id,
                self.client_id,
                self.client_secret.get_secret_value(),
                authority=self.authority_host,
            )
        return DefaultAzureCredential(authority=self.authority_host)

    def connection_verify(self) -> bool | str:
        """True (system trust) or the path of a file holding `ca_bundle`."""
        if not self.ca_bundle:
            return True
        return _ca_file(self.ca_bundle)

    def _client_kwargs(self, client: ArmClient) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "base_url": self.arm_endpoint,
            "credential_scopes": list(self.credential_scopes),
            "connection_verify": self.connection_verify(),
            "polling_interval": self.poll_interval_seconds,
            # The one transport retry layer (408/429/5xx, no answer; Retry-After capped): see blocks/arm_retry.py.
            "retry_policy": ArmRetryPolicy(self.retry_backoff_seconds),
        }
        version = self.api_versions.get(client)
        if version:
            kwargs["api_version"] = version  # picks the models of that version in multi-API clients
            kwargs["raw_request_hook"] = _pin_api_version(version)
        return kwargs

    def network_client(self, subscription_id: str) -> NetworkManagementClient:
        """Microsoft.Network client for one subscription."""
        return NetworkManagementClient(self.credential(), subscription_id, **self._client_kwargs("network"))

    def containerservice_client(self, subscription_id: str) -> ContainerServiceClient:
        """Microsoft.ContainerService (AKS) client for one subscription."""
        return ContainerServiceClient(self.credential(), subscription_id, **self._client_kwargs("containerservice"))

    def resource_client(self, subscription_id: str) -> ResourceManagementClient:
        """Microsoft.Resources client (resource groups) for one subscription."""
        return ResourceManagementClient(self.credential(), subscription_id, **self._client_kwargs("resource"))

    def authorization_client(self, subscription_id: str) -> AuthorizationManagementClient:
        """Microsoft.Authorization client (role assignments) for one subscription."""
        return AuthorizationManagementClient(self.credential(), subscription_id, **self._client_kwargs("authorization"))

    def msi_client(self, subscription_id: str) -> ManagedServiceIdentityClient:
        """Microsoft.ManagedIdentity client (user-assigned identities) for one subscription."""
        return ManagedServiceIdentityClient(self.credential(), subscription_id, **self._client_kwargs("msi"))


def _ca_file(pem: str) -> str:
    """Write the CA bundle once per content to a private temp file; requests needs a path."""
    digest = hashlib.sha256(pem.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"multidc-ca-{os.getuid()}-{digest}.pem"
    if not path.exists():
        # Write then rename so a concurrent task never reads a half-written file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        os.replace(tmp, path)
    return str(path)
