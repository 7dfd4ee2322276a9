"""CoreDNS as the sandbox models it: which zones a cluster forwards, and where."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A server block opens with one or more zones (optionally :port) and a brace.
_BLOCK_OPEN = re.compile(r"^\s*([^\s{]+(?:\s+[^\s{]+)*)\s*\{\s*$")
_FORWARD = re.compile(r"^\s*forward\s+(\S+)\s+(.+?)\s*(\{)?\s*$")


@dataclass(frozen=True)
class ForwardZone:
    zone: str
    upstreams: tuple[tuple[str, int], ...]


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0].rstrip()


def _zone_name(token: str) -> str:
    token = token.removeprefix("dns://")
    zone = token.rsplit(":", 1)[0] if ":" in token else token
    return zone.rstrip(".").lower() + "."


def _upstream(token: str) -> tuple[str, int] | None:
    token = token.removeprefix("dns://")
    if token.startswith("/"):  # /etc/resolv.conf: the node's resolver, not another cluster
        return None
    host, _, port = token.partition(":")
    try:
        return host, int(port) if port else 53
    except ValueError:
        return None


def parse_server_blocks(text: str) -> list[ForwardZone]:
    """Forward zones declared by top-level server blocks of a Corefile fragment.

    Only `forward . <addr>...` inside a block counts, as CoreDNS would use it; the
    catch-all `.` zone is ignored because it forwards to the node resolver.
    """
    zones: list[ForwardZone] = []
    depth = 0
    current: list[str] = []
    upstreams: list[tuple[str, int]] = []
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if depth == 0:
            opened = _BLOCK_OPEN.match(line)
            if opened:
                current = [_zone_name(t) for t in opened.group(1).split()]
                upstreams = []
                depth = 1
            continue
        if depth == 1:
            fwd = _FORWARD.match(line)
            if fwd and fwd.group(1) == ".":
                upstreams = [u for t in fwd.group(2).split() if (u := _upstream(t))]
        depth += line.count("{") - line.count("}")
        if depth == 0:
            zones.extend(ForwardZone(z, tuple(upstreams)) for z in current if z != "." and upstreams)
    return zones


def forward_zones(corefile: str | None, custom: dict[str, str] | None) -> list[ForwardZone]:
    """All forward zones of a cluster: the Corefile itself plus coredns-custom `*.server` keys.

    Keys not ending in `.server` are ignored (`*.override` keys go inside the
    default block and cannot declare zones), exactly as AKS imports them.
    """
    zones = parse_server_blocks(corefile or "")
    for key in sorted(custom or {}):
        if key.endswith(".server"):
            zones.extend(parse_server_blocks((custom or {})[key]))
    return zones


def match_zone(fqdn: str, zones: list[ForwardZone]) -> ForwardZone | None:
    """The longest zone containing fqdn, as CoreDNS picks it."""
    name = fqdn.rstrip(".").lower() + "."
    best: ForwardZone | None = None
    for zone in zones:
        if (name == zone.zone or name.endswith("." + zone.zone)) and (
            best is None or len(zone.zone) > len(best.zone)
        ):
            best = zone
    return best
