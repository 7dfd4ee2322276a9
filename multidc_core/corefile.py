"""CoreDNS server blocks forwarding other DCs' namespace zones, for coredns-custom or a Corefile."""

from __future__ import annotations

from multidc_core import naming as n
from multidc_core.spec import RingSpec

BEGIN_MARK = "# BEGIN multidc forward zones (managed by multidc; edits here are replaced)"
END_MARK = "# END multidc forward zones"


def server_block(namespace: str, address: str) -> str:
    """One forward server block; `address` is `ip` or `ip:port` (a NodePort exposure)."""
    return f"{n.namespace_zone(namespace)}:53 {{\n    errors\n    cache 30\n    forward . {address}\n}}\n"


def remote_dcs(spec: RingSpec, dc: str) -> list[str]:
    """Every DC but `dc`, in spec order."""
    spec.dc(dc)
    return [d.name for d in spec.datacenters if d.name != dc]


def render_coredns_custom(spec: RingSpec, dc: str, remote_dns: dict[str, str]) -> dict[str, str]:
    """`coredns-custom` data entries for `dc`: one `multidc-<ns>.server` per other DC.

    remote_dns maps each other DC's name to the address its DNS is reached at, known at run time.
    """
    missing = [d for d in remote_dcs(spec, dc) if d not in remote_dns]
    if missing:
        raise KeyError(f"no DNS address for datacenter(s) {', '.join(missing)}")
    out: dict[str, str] = {}
    for name in remote_dcs(spec, dc):
        ns = spec.dc(name).namespace
        out[n.coredns_custom_key(ns)] = server_block(ns, remote_dns[name])
    return dict(sorted(out.items()))


def corefile_section(spec: RingSpec, dc: str, remote_dns: dict[str, str]) -> str:
    """The same server blocks as one marked section, for clusters whose Corefile we edit."""
    blocks = render_coredns_custom(spec, dc, remote_dns)
    return BEGIN_MARK + "\n" + "".join(blocks.values()) + END_MARK + "\n"


def remove_section(corefile: str) -> str:
    """The Corefile without a multidc section (unchanged when there is none)."""
    lines = corefile.splitlines(keepends=True)
    begin = next((i for i, line in enumerate(lines) if line.strip() == BEGIN_MARK), None)
    if begin is None:
        return corefile
    end = next((i for i in range(begin, len(lines)) if lines[i].strip() == END_MARK), None)
    if end is None:
        raise ValueError("Corefile has the multidc begin marker but no end marker: fix it by hand")
    rest = lines[:begin] + lines[end + 1 :]
    return "".join(rest).rstrip("\n") + "\n" if rest else ""


def insert_section(corefile: str, section: str) -> str:
    """The Corefile with `section` appended in place of any earlier multidc section.

    Idempotent: inserting the same section twice gives the same text. Server blocks are
    top-level, so appending after the existing `.:53` block keeps that block intact.
    """
    base = remove_section(corefile).rstrip("\n")
    return (base + "\n\n" if base else "") + section


def insert_server_blocks(corefile: str, spec: RingSpec, dc: str, remote_dns: dict[str, str]) -> str:
    """The Corefile of `dc` with forward blocks for every other DC (idempotent)."""
    return insert_section(corefile, corefile_section(spec, dc, remote_dns))


def without_zone(corefile: str, zone: str) -> str:
    """The Corefile without the server block of one zone (`<zone>:53 { ... }`, braces balanced)."""
    start = corefile.find(f"{zone}:53 {{")
    if start < 0:
        return corefile
    depth, i = 0, corefile.index("{", start)
    start = corefile.rfind("\n", 0, start) + 1  # the whole line, its indentation too
    while i < len(corefile):
        depth += {"{": 1, "}": -1}.get(corefile[i], 0)
        i += 1
        if depth == 0:
            break
    end = i + 1 if corefile[i:i + 1] == "\n" else i
    return corefile[:start] + corefile[end:]
