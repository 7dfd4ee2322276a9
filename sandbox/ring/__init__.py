"""Simulated Cassandra: nodes behind emulated pods that form rings only where the network allows."""

from sandbox.ring.cluster import ExecResult, RingSim
from sandbox.ring.network import InMemoryNetwork, Network

__all__ = ["ExecResult", "InMemoryNetwork", "Network", "RingSim"]
