"""Simulated time: durations are given in Azure seconds and scaled to real seconds."""

from __future__ import annotations

import time
from dataclasses import dataclass

# Default durations in real Azure seconds, in the proportions the field notes give.
AZURE_DURATIONS: dict[str, float] = {
    "gateway": 45 * 60,
    "cluster": 10 * 60,
    "connection": 3 * 60,
    "public_ip": 10,
    "vnet": 5,
    "subnet": 5,
    "peering": 10,
    "resource_group": 1,
    "identity": 5,
    "role_assignment": 5,
    # A new managed identity is invisible to role assignments for a while (directory replication).
    "principal_replication": 30,
    "volume_attach": 60,
    "node_bootstrap": 120,
    "gossip_echo": 1,
    # A repair: a session (prepare, validation compactions) plus streaming per MiB and per remote DC.
    "repair_session": 30,
    "repair_per_mib": 60,
    "repair_per_remote_dc": 15,  # a node heard of through gossip is neither live nor unreachable until it echoes
    "pvc_bind": 5,
    "lb_address": 20,
    # A Vnet2Vnet tunnel reports Connected this long after both directions are provisioned.
    "tunnel": 2 * 60,
    # A deleted cluster's node NICs stay attached to its subnet this long (InUseSubnetCannotBeDeleted).
    "nic_release": 2 * 60,
    # A deleted resource stays in its group's resource list this long (ARM's cache, until its GET says 404).
    "arm_cache": 30,
}


@dataclass
class Clock:
    """Wall clock plus the factor that turns Azure seconds into sandbox seconds.

    time_scale: real seconds per Azure second (0.001 turns a 45-minute gateway into 2.7 s).
    """

    time_scale: float = 0.01

    def now(self) -> float:
        return time.time()

    def scaled(self, azure_seconds: float) -> float:
        return azure_seconds * self.time_scale

    def duration(self, kind: str) -> float:
        """Real seconds that an operation of this kind takes in the sandbox."""
        return self.scaled(AZURE_DURATIONS[kind])
