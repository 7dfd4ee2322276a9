"""A complete minimal cassandra.yaml for the image's Cassandra version (4.0, 4.1, 5.0), laid out for its entrypoint."""

from __future__ import annotations

import re

from multidc_core import naming as n
from multidc_core.spec import CassandraRing, Datacenter, RingSpec

PASSWORD_AUTHENTICATOR = "PasswordAuthenticator"  # noqa: S105 (a class name)
ALLOW_ALL_AUTHENTICATOR = "AllowAllAuthenticator"
SNITCH = "GossipingPropertyFileSnitch"
DATA_DIR = "/var/lib/cassandra"
STORAGE_PORT = 7000
SSL_STORAGE_PORT = 7001
NATIVE_PORT = 9042
JMX_PORT = 7199
SUPPORTED_VERSIONS = ("4.0", "4.1", "5.0")
_TAG_VERSION = re.compile(r"^(\d+)\.(\d+)(?![\d])")
# Settings 4.1 renamed to names with units (CASSANDRA-15234, Config.java's @Replaces): new name ->
# (4.1+ value, 4.0 name, 4.0 value). 4.0 refuses the new names; 4.1 and 5.0 still read the old ones.
RENAMED_IN_4_1: dict[str, tuple[str, str, str]] = {
    "roles_validity": ("2000ms", "roles_validity_in_ms", "2000"),
    "permissions_validity": ("2000ms", "permissions_validity_in_ms", "2000"),
    "credentials_validity": ("2000ms", "credentials_validity_in_ms", "2000"),
    "max_hint_window": ("3h", "max_hint_window_in_ms", "10800000"),
    "commitlog_sync_period": ("10000ms", "commitlog_sync_period_in_ms", "10000"),
    "commitlog_segment_size": ("32MiB", "commitlog_segment_size_in_mb", "32"),
    "read_request_timeout": ("5000ms", "read_request_timeout_in_ms", "5000"),
    "write_request_timeout": ("2000ms", "write_request_timeout_in_ms", "2000"),
    "request_timeout": ("10000ms", "request_timeout_in_ms", "10000"),
    "compaction_throughput": ("64MiB/s", "compaction_throughput_mb_per_sec", "64"),
    "batch_size_warn_threshold": ("5KiB", "batch_size_warn_threshold_in_kb", "5"),
    "batch_size_fail_threshold": ("50KiB", "batch_size_fail_threshold_in_kb", "50"),
}


def image_tag(image: str) -> str | None:
    """The tag of an image reference (`repo[:port]/name:tag@digest`), None when it has none."""
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else None


def tag_version(image: str) -> str | None:
    """`major.minor` when the tag starts with one (5.0, 4.1.7, 4.0.13-jammy); else None (latest, 5, none)."""
    match = _TAG_VERSION.match(image_tag(image) or "")
    return f"{match.group(1)}.{match.group(2)}" if match else None


def cassandra_version(ring: CassandraRing) -> str:
    """The Cassandra version cassandra.yaml is rendered for: the image tag's, else `cassandra.version`."""
    version = tag_version(ring.image) or ring.version
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"no supported Cassandra version for image {ring.image!r} (validate the spec first)")
    return version


def _setting(version: str, key: str) -> str:
    value, old_key, old_value = RENAMED_IN_4_1[key]
    return f"{old_key}: {old_value}" if version == "4.0" else f"{key}: {value}"


def cassandra_yaml(spec: RingSpec, dc: Datacenter) -> str:
    """The text of cassandra.yaml, with the setting names of the image's Cassandra version.

    The docker entrypoint rewrites `cluster_name`, `num_tokens`, `listen_address`,
    `broadcast_address`, `broadcast_rpc_address`, `rpc_address`, `endpoint_snitch` and the
    `- seeds:` line with `sed` on whole lines (`^(# )?key:`), so each is one top-level line here,
    with the stock file's placeholder values.
    """
    auth = spec.cassandra.auth
    authenticator = PASSWORD_AUTHENTICATOR if auth else ALLOW_ALL_AUTHENTICATOR
    authorizer = "CassandraAuthorizer" if auth else "AllowAllAuthorizer"
    local_rf = min(3, dc.cassandra.nodes)
    version = cassandra_version(spec.cassandra)
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
        _setting(version, "roles_validity"),
        _setting(version, "permissions_validity"),
        _setting(version, "credentials_validity"),
        "hinted_handoff_enabled: true",
        _setting(version, "max_hint_window"),
        "data_file_directories:",
        f"  - {DATA_DIR}/data",
        f"commitlog_directory: {DATA_DIR}/commitlog",
        f"saved_caches_directory: {DATA_DIR}/saved_caches",
        f"hints_directory: {DATA_DIR}/hints",
        "commitlog_sync: periodic",
        _setting(version, "commitlog_sync_period"),
        _setting(version, "commitlog_segment_size"),
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
        _setting(version, "read_request_timeout"),
        _setting(version, "write_request_timeout"),
        _setting(version, "request_timeout"),
        "auto_snapshot: true",
        "incremental_backups: false",
        "snapshot_before_compaction: false",
        _setting(version, "compaction_throughput"),
        "internode_compression: dc",
        _setting(version, "batch_size_warn_threshold"),
        _setting(version, "batch_size_fail_threshold"),
        # Unlisted in the stock file, read by Config.java (`auto_bootstrap = true`): a DC added to a live
        # ring starts owning its ranges with no data, which `nodetool rebuild` then streams in.
        *([] if dc.cassandra.auto_bootstrap else ["auto_bootstrap: false"]),
        "",
    ]
    return "\n".join(lines)
