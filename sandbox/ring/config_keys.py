"""Which top-level cassandra.yaml keys each Cassandra version accepts; any other key stops the node.

Sources: apache/cassandra `src/java/org/apache/cassandra/config/Config.java` on branches cassandra-4.0,
cassandra-4.1 and cassandra-5.0 (the public fields are the keys; 4.1's `@Replaces(oldName = ...)` keep
the 4.0 names readable), and `YamlConfigurationLoader.PropertiesChecker.check()` for the message.

The table is deliberately compact: the keys multidc renders, the keys of the image's stock file the
sandbox models (`sandbox/ring/image.py`), and the settings 4.1 renamed. A key missing here that real
Cassandra knows would be refused by the sandbox only; nothing else writes cassandra.yaml.
"""

from __future__ import annotations

# In every version since 4.0 under the same name (Config.java, all three branches).
_COMMON = frozenset({
    "cluster_name", "num_tokens", "allocate_tokens_for_local_replication_factor", "partitioner",
    "authenticator", "authorizer", "role_manager", "network_authorizer", "hinted_handoff_enabled",
    "data_file_directories", "commitlog_directory", "saved_caches_directory", "hints_directory",
    "commitlog_sync", "disk_failure_policy", "commit_failure_policy", "seed_provider", "concurrent_reads",
    "concurrent_writes", "concurrent_counter_writes", "storage_port", "ssl_storage_port", "listen_address",
    "broadcast_address", "start_native_transport", "native_transport_port", "rpc_address",
    "broadcast_rpc_address", "endpoint_snitch", "dynamic_snitch", "auto_snapshot", "incremental_backups",
    "snapshot_before_compaction", "internode_compression", "auto_bootstrap",
})
# 4.1 name (with units) -> 4.0 name (CASSANDRA-15234; Config.java 4.1 `@Replaces(oldName = "<4.0 name>")`).
RENAMED_IN_4_1 = {
    "roles_validity": "roles_validity_in_ms",
    "permissions_validity": "permissions_validity_in_ms",
    "credentials_validity": "credentials_validity_in_ms",
    "max_hint_window": "max_hint_window_in_ms",
    "commitlog_sync_period": "commitlog_sync_period_in_ms",
    "commitlog_segment_size": "commitlog_segment_size_in_mb",
    "read_request_timeout": "read_request_timeout_in_ms",
    "write_request_timeout": "write_request_timeout_in_ms",
    "request_timeout": "request_timeout_in_ms",
    "compaction_throughput": "compaction_throughput_mb_per_sec",
    "batch_size_warn_threshold": "batch_size_warn_threshold_in_kb",
    "batch_size_fail_threshold": "batch_size_fail_threshold_in_kb",
}
# New in 5.0's Config.java (storage compatibility with 4.x sstables/messaging; CEP-20 data masking).
_NEW_IN_5_0 = frozenset({"storage_compatibility_mode", "dynamic_data_masking_enabled"})

KNOWN_KEYS: dict[str, frozenset[str]] = {
    "4.0": _COMMON | frozenset(RENAMED_IN_4_1.values()),
    "4.1": _COMMON | frozenset(RENAMED_IN_4_1) | frozenset(RENAMED_IN_4_1.values()),
}
KNOWN_KEYS["5.0"] = KNOWN_KEYS["4.1"] | _NEW_IN_5_0


def unknown_keys_error(version: str, conf: dict[str, object]) -> str | None:
    """Cassandra's refusal of keys its Config has no field for, or None when every key is known."""
    unknown = sorted(str(k) for k in conf if str(k) not in KNOWN_KEYS[version])
    if not unknown:
        return None
    return f"Invalid yaml. Please remove properties [{', '.join(unknown)}] from your cassandra.yaml"
