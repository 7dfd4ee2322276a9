"""Lines of a simulated node's log, as the official image prints them on stdout (what `kubectl logs` shows).

Layout: conf/logback.xml of apache/cassandra, `%-5level [%thread] %date{ISO8601} %F:%L - %msg%n`
(e.g. `INFO  [main] 2024-05-02 10:11:12,345 StorageService.java:1012 - Cassandra version: 5.0.2`).
The messages are the real ones, with the class that logs them (apache/cassandra, 5.0 branch):
- YamlConfigurationLoader: "Configuration location: file:/etc/cassandra/cassandra.yaml"
- SimpleSeedProvider.getSeeds: "Seed provider couldn't lookup host dc1-seed-0..." for a name that does not resolve
- StorageService: "Cassandra version: ...", "Starting up server gossip", "JOINING: Starting to bootstrap..."
- Gossiper.handleMajorStateChange: "Node /ip:7000 is now part of the cluster"; markAlive: "InetAddress /ip:7000 is now UP"
- StorageService.joinTokenRing: IllegalStateException "Unable to contact any seeds: [seeds]", logged by
  CassandraDaemon as "Exception encountered during startup"
- CassandraRoleManager.setupDefaultRole: "Created default superuser role 'cassandra'"
- PipelineConfigurator: "Starting listening for CQL clients on /0.0.0.0:9042 (unencrypted)..."
- CassandraDaemon: "Startup complete"; Gossiper.announceShutdown: "Announcing shutdown"
- GossipDigestSynVerbHandler.doVerb: "ClusterName mismatch from /ip:7000 theirs!=mine" (the SYN is dropped)
- RepairRunnable: "Starting repair command #1, repairing keyspace ks with repair options (...)"
Line numbers (%L) are the class's, not exact: nothing parses them.
"""

from __future__ import annotations

import time

VERSION = "5.0.2"
STORAGE_PORT = 7000

# (thread, "File.java:line") per class that logs
WHERE = {
    "config": ("main", "YamlConfigurationLoader.java:104"),
    "seeds": ("main", "SimpleSeedProvider.java:70"),
    "storage": ("main", "StorageService.java:1012"),
    "gossip": ("GossipStage:1", "Gossiper.java:1372"),
    "alive": ("GossipStage:1", "Gossiper.java:1305"),
    "daemon": ("main", "CassandraDaemon.java:711"),
    "roles": ("OptionalTasks:1", "CassandraRoleManager.java:436"),
    "cql": ("main", "PipelineConfigurator.java:129"),
    "shutdown": ("StorageServiceShutdownHook", "Gossiper.java:2202"),
    "syn": ("GossipStage:1", "GossipDigestSynVerbHandler.java:58"),
    "repair": ("Repair-Task:1", "RepairRunnable.java:287"),
    "compaction": ("CompactionExecutor:1", "CompactionManager.java:530"),
}


def endpoint(ip: str) -> str:
    """How Cassandra 4.0+ prints an InetAddressAndPort: /10.1.0.5:7000."""
    return f"/{ip}:{STORAGE_PORT}"


def line(when: float, level: str, where: str, message: str) -> str:
    thread, source = WHERE[where]
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when)) + f",{int(when * 1000) % 1000:03d}"
    return f"{level:<5} [{thread}] {stamp} {source} - {message}"


def startup(when: float) -> list[str]:
    return [
        line(when, "INFO", "config", "Configuration location: file:/etc/cassandra/cassandra.yaml"),
        line(when, "INFO", "storage", f"Cassandra version: {VERSION}"),
        line(when, "INFO", "storage", "Starting up server gossip"),
    ]


def joined(when: float, peer_ip: str) -> list[str]:
    return [line(when, "INFO", "gossip", f"Node {endpoint(peer_ip)} is now part of the cluster"),
            line(when, "INFO", "alive", f"InetAddress {endpoint(peer_ip)} is now UP")]


def serving(when: float) -> list[str]:
    return [line(when, "INFO", "cql", "Starting listening for CQL clients on /0.0.0.0:9042 (unencrypted)..."),
            line(when, "INFO", "daemon", "Startup complete")]


def no_seeds(when: float, seeds: list[str]) -> list[str]:
    listed = ", ".join(endpoint(s) for s in seeds)
    return [line(when, "ERROR", "daemon", "Exception encountered during startup"),
            f"java.lang.IllegalStateException: Unable to contact any seeds: [{listed}]"]


def cluster_name_mismatch(when: float, sender_ip: str, theirs: str, mine: str) -> str:
    return line(when, "WARN", "syn", f"ClusterName mismatch from {endpoint(sender_ip)} {theirs}!={mine}")
