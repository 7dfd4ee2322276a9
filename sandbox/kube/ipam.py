"""Address allocation from a CIDR: the first free host after the addresses Azure reserves."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


def in_cidr(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def allocate(cidr: str, used: Iterable[str | None], skip_first: int = 4) -> str | None:
    """First host of `cidr` not in `used`; Azure keeps the first four addresses of a subnet for itself."""
    taken = {u for u in used if u}
    net = ipaddress.ip_network(cidr, strict=False)
    for i, host in enumerate(net.hosts()):
        if i + 1 < skip_first:
            continue
        if str(host) not in taken:
            return str(host)
    return None
