"""The ring report for people: a topology picture (SVG), the summary markdown and the node table."""

from __future__ import annotations

import base64
import math
from xml.sax.saxutils import escape

from multidc_core.verify_model import VERIFY_KEYSPACE, DCInfo, Link, NodeView, ReadResult, RingReport

BOX_W, BOX_H = 260, 170
NODE_R = 9
MARGIN = 40
LEGEND_H = 56

NODE_COLOURS = {"UN": "#2e9d4c", "DN": "#d33c3c", "missing": "#ffffff", "unknown": "#9aa0a6"}
JOINING = "#e0a100"  # UJ, UL, UM: up but moving data
LINK_COLOURS = {
    "ok": "#2e9d4c",
    "degraded": "#e0a100",
    "down": "#d33c3c",
    "split": "#d33c3c",
    "unknown": "#9aa0a6",
}
VERDICT_COLOURS = {"whole": "#2e9d4c", "degraded": "#e0a100", "broken": "#d33c3c"}


def _attr(value: object) -> str:
    return escape(str(value), {'"': "&quot;"})


def _text(
    x: float,
    y: float,
    body: str,
    size: int = 12,
    anchor: str = "middle",
    weight: str = "normal",
    fill: str = "#202124",
) -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}">{escape(body)}</text>'
    )


def _positions(n: int) -> list[tuple[float, float]]:
    """Top-left corners: two DCs side by side, three or more on a circle so every pair has a clear line."""
    if n <= 2:
        return [(MARGIN + i * (BOX_W + 160), MARGIN + 30) for i in range(n)]
    radius = max(220.0, (BOX_W + 60) / (2 * math.sin(math.pi / n)))
    cx = cy = radius + MARGIN + BOX_W / 2
    out = []
    for i in range(n):
        angle = -math.pi / 2 + 2 * math.pi * i / n
        out.append(
            (cx + radius * math.cos(angle) - BOX_W / 2, cy + radius * math.sin(angle) - BOX_H / 2 + 30)
        )
    return out


def _node_state(report: RingReport, dc: DCInfo) -> list[NodeView | None]:
    """The DC's nodes as its own pod sees them (else any other view), padded with None for missing ones."""
    views = [report.view(dc.name)] + [o for o in report.observations if o.observer != dc.name]
    for v in views:
        if v is not None and v.error is None and v.of_dc(dc.name):
            rows = sorted(v.of_dc(dc.name), key=lambda n: (n.rack, n.address))
            return [*rows, *([None] * max(0, dc.nodes - len(rows)))]
    return [None] * dc.nodes


def _colour(node: NodeView | None, observed: bool) -> str:
    if node is None:
        return NODE_COLOURS["missing"] if observed else NODE_COLOURS["unknown"]
    if node.state in NODE_COLOURS:
        return NODE_COLOURS[node.state]
    return NODE_COLOURS["DN"] if node.state.startswith("D") else JOINING


def _box(report: RingReport, dc: DCInfo, x: float, y: float) -> list[str]:
    view = report.view(dc.name)
    observed = view is not None and view.error is None
    border = "#d33c3c" if not observed else "#5f6368"
    parts = [
        f'<g class="dc" id="dc-{_attr(dc.name)}">',
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="12" fill="#f8f9fa" '
        f'stroke="{border}" stroke-width="2"/>',
        _text(x + BOX_W / 2, y + 24, dc.name, size=16, weight="bold"),
        _text(x + BOX_W / 2, y + 42, f"{dc.region} · {dc.cluster}", size=11, fill="#5f6368"),
        _text(x + BOX_W / 2, y + 57, f"namespace {dc.namespace}", size=10, fill="#5f6368"),
    ]
    nodes = _node_state(report, dc)
    per_row = 8
    for i, node in enumerate(nodes[:24]):
        nx = x + 24 + (i % per_row) * 30
        ny = y + 82 + (i // per_row) * 28
        dash = ' stroke-dasharray="3,2"' if node is None else ""
        label = "missing" if node is None else f"{node.address} {node.rack} {node.state}"
        parts.append(
            f'<circle cx="{nx:.0f}" cy="{ny:.0f}" r="{NODE_R}" fill="{_colour(node, observed)}" '
            f'stroke="#3c4043"{dash}><title>{escape(label)}</title></circle>'
        )
    if len(nodes) > 24:
        parts.append(_text(x + BOX_W - 20, y + 150, f"+{len(nodes) - 24}", size=11))
    up = sum(1 for n in nodes if n is not None and n.state == "UN")
    caption = f"{up} of {dc.nodes} UN" if observed else "not observed"
    parts += [_text(x + BOX_W / 2, y + BOX_H - 12, caption, size=12), "</g>"]
    return parts


def _line(link: Link, a: tuple[float, float], b: tuple[float, float]) -> list[str]:
    (x1, y1), (x2, y2) = ((p[0] + BOX_W / 2, p[1] + BOX_H / 2) for p in (a, b))
    colour = LINK_COLOURS[link.status]
    dash = ' stroke-dasharray="8,6"' if link.status in ("split", "unknown") else ""
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    return [
        f'<g class="link" id="link-{_attr(link.a)}-{_attr(link.b)}">',
        f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{colour}" '
        f'stroke-width="5"{dash}><title>{escape(link.detail)}</title></line>',
        f'<rect x="{mx - 46:.0f}" y="{my - 13:.0f}" width="92" height="22" rx="11" fill="#ffffff" stroke="{colour}"/>',
        _text(mx, my + 3, link.status, size=12, weight="bold", fill=colour),
        "</g>",
    ]


def _legend(y: float) -> list[str]:
    items = [
        ("UN", NODE_COLOURS["UN"]),
        ("DN", NODE_COLOURS["DN"]),
        ("joining/leaving", JOINING),
        ("missing", NODE_COLOURS["missing"]),
        ("not observed", NODE_COLOURS["unknown"]),
    ]
    parts, x = [], float(MARGIN)
    for label, colour in items:
        parts.append(f'<circle cx="{x + 6:.0f}" cy="{y:.0f}" r="6" fill="{colour}" stroke="#3c4043"/>')
        parts.append(_text(x + 16, y + 4, label, size=11, anchor="start"))
        x += 30 + 7 * len(label)
    y += 22
    x = float(MARGIN)
    for status in ("ok", "degraded", "down", "split"):
        parts.append(
            f'<line x1="{x:.0f}" y1="{y:.0f}" x2="{x + 24:.0f}" y2="{y:.0f}" '
            f'stroke="{LINK_COLOURS[status]}" stroke-width="4"/>'
        )
        parts.append(_text(x + 30, y + 4, f"link {status}", size=11, anchor="start"))
        x += 100
    return parts


def render_svg(report: RingReport) -> str:
    """A standalone SVG document of the ring: DC boxes, node dots, links, verdict, legend."""
    pos = _positions(len(report.datacenters))
    width = max(x for x, _ in pos) + BOX_W + MARGIN if pos else 2 * MARGIN
    width = max(width, 520.0)
    height = (max(y for _, y in pos) if pos else 0) + BOX_H + MARGIN + LEGEND_H
    at = {d.name: p for d, p in zip(report.datacenters, pos, strict=True)}
    colour = VERDICT_COLOURS[report.verdict]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        f"<title>ring {escape(report.ring)}: {report.verdict}</title>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        _text(
            MARGIN,
            30,
            f"ring {report.ring}: {report.verdict.upper()}",
            size=18,
            anchor="start",
            weight="bold",
            fill=colour,
        ),
    ]
    for link in report.links:
        if link.a in at and link.b in at:
            parts += _line(link, at[link.a], at[link.b])
    for dc in report.datacenters:
        parts += _box(report, dc, *at[dc.name])
    parts += _legend(height - LEGEND_H + 14)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def svg_data_uri(svg: str) -> str:
    """The SVG as a data: URI, for a markdown image (Prefect's UI allows data:image/ sources)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


# ---- rendering: the summary a person reads and the node table ---------------------------------

HEADLINE = {
    "whole": "✅ WHOLE: every DC sees every node UN and reads every other DC's writes",
    "degraded": "⚠️ DEGRADED: still serving LOCAL_QUORUM everywhere, but not every node is up",
    "broken": "❌ BROKEN: the ring does not work as one",
}


def node_table(report: RingReport) -> list[dict[str, str]]:
    """One row per node, its state as seen from every DC side by side (for a table artifact)."""
    observers = [o.observer for o in report.observations if o.error is None]
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for o in report.observations:
        for n in o.nodes:
            row = rows.setdefault(
                (n.dc, n.address),
                {
                    "dc": n.dc,
                    "rack": n.rack,
                    "address": n.address,
                    **{f"seen from {x}": "-" for x in observers},
                    "load": n.load,
                    "owns": "?" if n.owns is None else f"{n.owns:.1f}%",
                    "host id": n.host_id,
                },
            )
            row[f"seen from {o.observer}"] = n.state
            if o.observer == n.dc:  # load and ownership as the node's own DC reports them
                row.update(load=n.load, owns="?" if n.owns is None else f"{n.owns:.1f}%")
    return [rows[k] for k in sorted(rows)]


def _md_cell(text: str) -> str:
    """A markdown table cell: a `|` or a line break in a value (a kubeconfig context) must not split it."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _cell(r: ReadResult | None, writer: str, reader: str) -> str:
    if writer == reader:
        return "—"
    if r is None:
        return "not run"
    if r.ok:
        return f"✅ {r.seconds:.1f} s" if r.seconds is not None else "✅"
    return f"❌ {r.error or 'no answer'}".replace("|", "\\|")


def summary_markdown(report: RingReport, picture_uri: str | None = None) -> str:
    """The summary artifact: verdict, what is wrong, the picture, the data-path matrix, per-DC counts."""
    names = [d.name for d in report.datacenters]
    out = [f"# Ring `{report.ring}`: {report.verdict.upper()}", "", f"**{HEADLINE[report.verdict]}**", ""]
    if report.findings:
        out += ["## What is wrong", ""]
        for f in sorted(report.findings, key=lambda f: f.severity != "broken"):
            out.append(f"- {'❌' if f.severity == 'broken' else '⚠️'} {f.text}")
        out.append("")
    if picture_uri:
        out += ["## Topology", "", f"![ring topology]({picture_uri})", ""]
    out += [
        "## Data path",
        "",
        "Row: the DC that wrote a sentinel at EACH_QUORUM; column: the DC that read it at LOCAL_QUORUM.",
        "",
    ]
    dp = report.datapath
    if dp.keyspace_error is not None:
        out += [f"Not run: keyspace `{VERIFY_KEYSPACE}` could not be set up: {dp.keyspace_error}", ""]
    else:
        out += ["| writer \\ reader | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for w in names:
            write = next((x for x in dp.writes if x.writer == w), None)
            label = w if write is None or write.error is None else f"{w} (EACH_QUORUM write failed)"
            out.append(f"| {label} | " + " | ".join(_cell(dp.read(w, r), w, r) for r in names) + " |")
        out.append("")
    out += [
        "## Nodes",
        "",
        "| DC | region | cluster | expected | seen from own DC |",
        "|---|---|---|---|---|",
    ]
    for d in report.datacenters:
        view = report.view(d.name)
        if view is None or view.error is not None:
            seen = "not observed"
        else:
            rows = view.of_dc(d.name)
            seen = f"{sum(1 for n in rows if n.state == 'UN')} UN of {len(rows)}"
            down = [n.address for n in rows if n.state != "UN"]
            seen += f" (not UN: {', '.join(down)})" if down else ""
        cells = (d.name, d.region, d.cluster, str(d.nodes), seen)
        out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(out) + "\n"
