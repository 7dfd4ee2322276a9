"""What a simulated Cassandra node needs from the world: DNS as seen from a pod, and routing."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol


class Network(Protocol):
    """Implemented by the sandbox glue (sandbox/world.py); the ring only asks, never changes it."""

    def resolve(self, from_ip: str, fqdn: str) -> str | None:
        """The address `fqdn` resolves to for a pod at `from_ip`, or None (NXDOMAIN / no answer)."""
        ...

    def reachable(self, from_ip: str, to_ip: str) -> bool:
        """Whether a packet from `from_ip` gets to `to_ip` (routing, connections, partitions)."""
        ...

    def steady(self) -> AbstractContextManager[None]:
        """A block during which the network does not change (answers may be remembered)."""
        ...


class InMemoryNetwork:
    """A small Network for tests: addresses in groups (clusters), links and DNS views between groups.

    Same group: always routable and resolvable. Other groups: routable only over a link that is not
    partitioned; names resolvable only where DNS forwarding was declared (it also needs the link).
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.group_of: dict[str, str] = {}
        self.links: set[frozenset[str]] = set()
        self.dns: set[tuple[str, str]] = set()  # (asking group, answering group)
        self.partitions: set[frozenset[str]] = set()
        self.isolated: set[str] = set()  # single addresses cut off from everybody

    def steady(self) -> AbstractContextManager[None]:
        return nullcontext()

    def add(self, group: str, ip: str, fqdn: str | None = None) -> None:
        self.group_of[ip] = group
        if fqdn:
            self.names[fqdn] = ip

    def link(self, a: str, b: str, dns: bool = True) -> None:
        """Route between groups a and b (both ways); with dns, each forwards the other's zone."""
        self.links.add(frozenset((a, b)))
        if dns:
            self.dns.update({(a, b), (b, a)})

    def partition(self, a: str, b: str) -> None:
        self.partitions.add(frozenset((a, b)))

    def heal(self, a: str, b: str) -> None:
        self.partitions.discard(frozenset((a, b)))

    def _routable(self, ga: str | None, gb: str | None) -> bool:
        if ga is None or gb is None:
            return False
        if ga == gb:
            return True
        pair = frozenset((ga, gb))
        return pair in self.links and pair not in self.partitions

    def resolve(self, from_ip: str, fqdn: str) -> str | None:
        ip = self.names.get(fqdn)
        if ip is None:
            return None
        ga, gb = self.group_of.get(from_ip), self.group_of.get(ip)
        if ga == gb and ga is not None:
            return ip
        # A forwarded zone answers only when the forwarder (the other cluster) can be reached.
        if (ga, gb) in self.dns and self._routable(ga, gb):
            return ip
        return None

    def reachable(self, from_ip: str, to_ip: str) -> bool:
        if from_ip == to_ip:
            return True
        if from_ip in self.isolated or to_ip in self.isolated:
            return False
        return self._routable(self.group_of.get(from_ip), self.group_of.get(to_ip))
