"""The AzureCloud block: Prefect's block contract, credential validation, and clients aimed at its endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr, ValidationError

from blocks.azure import AzureCloud, StaticTokenCredential, close_credentials

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class TestAzureCloudIsAStandardBlock(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[Block]:
        return AzureCloud


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"credential_kind": "service-principal", "client_id": "app"},
            "credential_kind 'service-principal' needs tenant_id and client_secret to be set.",
        ),
        (
            {"credential_kind": "service-principal", "tenant_id": "t", "client_secret": "s"},
            "credential_kind 'service-principal' needs client_id to be set.",
        ),
        ({"credential_kind": "static-token"}, "credential_kind 'static-token' needs static_token to be set."),
    ],
)
def test_validator_says_what_is_missing(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        AzureCloud(**fields)  # type: ignore[arg-type]
    assert err.value.errors()[0]["msg"] == f"Value error, {message}"


def test_credential_kinds() -> None:
    assert isinstance(AzureCloud().credential(), DefaultAzureCredential)
    sp = AzureCloud(credential_kind="service-principal", tenant_id="t", client_id="c", client_secret="s")  # type: ignore[arg-type]
    assert isinstance(sp.credential(), ClientSecretCredential)
    static = AzureCloud(credential_kind="static-token", static_token="tok")  # type: ignore[arg-type]
    cred = static.credential()
    assert isinstance(cred, StaticTokenCredential)
    assert cred.get_token("scope").token == "tok"


def test_secrets_do_not_show_in_repr() -> None:
    secret = SecretStr("hunter2")
    sp = AzureCloud(credential_kind="service-principal", tenant_id="t", client_id="c", client_secret=secret)
    assert "hunter2" not in repr(sp)
    assert "hunter2" not in str(sp.model_dump())


def test_defaults_follow_azure_guidance() -> None:
    cloud = AzureCloud()
    assert cloud.arm_endpoint == "https://management.azure.com"
    assert cloud.credential_scopes == ["https://management.azure.com/.default"]
    assert cloud.poll_interval_seconds == 30
    assert (
        cloud.gateway_deadline_seconds,
        cloud.cluster_deadline_seconds,
        cloud.connection_deadline_seconds,
    ) == (
        5400,
        2700,
        1800,
    )


def test_ca_bundle_is_written_once_to_a_file() -> None:
    cloud = AzureCloud(ca_bundle=PEM)
    path = cloud.connection_verify()
    assert isinstance(path, str)
    assert Path(path).read_text() == PEM
    assert cloud.connection_verify() == path
    assert AzureCloud().connection_verify() is True


def test_clients_use_the_scopes_and_poll_interval() -> None:
    cloud = AzureCloud(
        arm_endpoint="https://127.0.0.1:9",
        credential_scopes=["https://example.invalid/.default"],
        credential_kind="static-token",
        static_token="tok",  # type: ignore[arg-type]
        poll_interval_seconds=0.5,
    )
    sub = "00000000-0000-0000-0000-000000000001"
    for client in (
        cloud.network_client(sub),
        cloud.containerservice_client(sub),
        cloud.resource_client(sub),
        cloud.msi_client(sub),
        cloud.authorization_client(sub),
    ):
        # That they reach `arm_endpoint` is shown by every test against the ARM emulator.
        config = client._config
        assert config.credential_scopes == ["https://example.invalid/.default"]
        assert config.polling_interval == 0.5


def test_one_credential_per_process_and_identity_closed_at_exit() -> None:
    sub = "00000000-0000-0000-0000-000000000001"
    fields = {"credential_kind": "service-principal", "tenant_id": "t", "client_id": "c", "client_secret": "s"}
    one, again = AzureCloud(**fields), AzureCloud(**fields)  # type: ignore[arg-type]  # a block loaded twice
    creds = {id(c._config.credential) for c in (one.network_client(sub), one.msi_client(sub), again.resource_client(sub))}
    assert len(creds) == 1
    other = AzureCloud(**{**fields, "client_secret": "another"})  # type: ignore[arg-type]
    assert other.credential() is not one.credential()

    closed: list[str] = []
    one.credential().close = lambda: closed.append("one")  # type: ignore[method-assign]
    other.credential().close = lambda: closed.append("other")  # type: ignore[method-assign]
    close_credentials()  # what atexit runs
    assert sorted(closed) == ["one", "other"]
    assert one.credential() is not None and not closed[2:]  # a new one after close, not a closed one
