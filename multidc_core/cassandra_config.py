"""A complete minimal cassandra.yaml for Cassandra 5.0 (4.1+ setting names), laid out for the image's entrypoint."""

from __future__ import annotations

from multidc_core import naming as n
from multidc_core.spec import Datacenter, RingSpec

PASSWORD_AUTHENTICATOR = "PasswordAuthenticator"  # noqa: S105 (a class name)
ALLOW_ALL_AUTHENTICATOR = "AllowAllAuthenticator"
SNITCH = "GossipingPropertyFileSnitch"
DATA_DIR = "/var/lib/cassandra"
STORAGE_PORT = 7000
SSL_STORAGE_PORT = 7001
NATIVE_PORT = 9042
JMX_PORT = 7199


def cassandra_yaml(spec: RingSpec, dc: Datacenter) -> str:
    """The text of cassandra.yaml.

    The docker entrypoint rewrites `cluster_name`, `num_tokens`, `listen_address`,
    `broadcast_address`, `broadcast_rpc_address`, `rpc_address`, `endpoint_snitch` and the
    `- seeds:` line with `sed` on whole lines (`^(# )?key:`), so each is one top-level line here,
    with the stock file's placeholder values.
    """
    auth = spec.cassandra.auth
    authenticator = PASSWORD_AUTHENTICATOR if auth else ALLOW_ALL_AUTHENTICATOR
    authorizer = "CassandraAuthorizer" if auth else "AllowAllAuthorizer"
    local_rf = min(3, dc.cassandra.nodes)
    lines = [
        f"# Rendered by multidc for ring {spec.name}, datacenter {dc.name}.",
        f"cluster_name: {spec.name}",
        f"num_tokens: {spec.cassandra.num_tokens}",
        f"allocate_tokens_for_local_replication_factor: {local_rf}",
        "partitioner: org.apache.cassandra.dht.Murmur3Partitioner",
        f"authenticator: {authenticator}",
        f"authorizer: {authorizer}",
        "role_manager: CassandraRoleManager",
        "network_authorizer: AllowAllNetworkAuthorizer",
        "roles_validity: 2000ms",
        "permissions_validity: 2000ms",
        "credentials_validity: 2000ms",
        "hinted_handoff_enabled: true",
        "max_hint_window: 3h",
        "data_file_directories:",
        f"  - {DATA_DIR}/data",
        f"commitlog_directory: {DATA_DIR}/commitlog",
        f"saved_caches_directory: {DATA_DIR}/saved_caches",
        f"hints_directory: {DATA_DIR}/hints",
        "commitlog_sync: periodic",
        "commitlog_sync_period: 10000ms",
        "commitlog_segment_size: 32MiB",
        "disk_failure_policy: stop",
        # die, not stop: a dead JVM restarts the container instead of leaving a zombie pod Ready.
        "commit_failure_policy: die",
        "seed_provider:",
        "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider",
        "    parameters:",
        f'      - seeds: "{n.seeds_csv(spec)}"',
        "concurrent_reads: 32",
        "concurrent_writes: 32",
        "concurrent_counter_writes: 32",
        f"storage_port: {STORAGE_PORT}",
        "listen_address: localhost",
        "# broadcast_address: 1.2.3.4",
        "start_native_transport: true",
        f"native_transport_port: {NATIVE_PORT}",
        "rpc_address: localhost",
        "# broadcast_rpc_address: 1.2.3.4",
        f"endpoint_snitch: {SNITCH}",
        "dynamic_snitch: true",
        "read_request_timeout: 5000ms",
        "write_request_timeout: 2000ms",
        "request_timeout: 10000ms",
        "auto_snapshot: true",
        "incremental_backups: false",
        "snapshot_before_compaction: false",
        "compaction_throughput: 64MiB/s",
        "internode_compression: dc",
        "batch_size_warn_threshold: 5KiB",
        "batch_size_fail_threshold: 50KiB",
        "",
    ]
    return "\n".join(lines)
