"""The plan's step graph as a picture (SVG): Prefect's UI renders markdown images, not mermaid."""

from __future__ import annotations

from xml.sax.saxutils import escape

from multidc_core.plan import AZURE_KINDS, NOT_TASKS, Plan, Step
from multidc_core.topology_svg import MARGIN, _attr, _text

STEP_W, STEP_H = 200, 34
GAP_X, GAP_Y = 16, 34
TITLE_H = 40
# Box fill per group of kinds; a step of no group (a join, verify) is drawn white.
GROUP_FILLS = (
    (AZURE_KINDS + ("vpn_key", "connected"), "#dbe8fb"),  # Azure
    (("kubeconfig", "kubeconfig_saved", "admin_credentials", "dns_expose", "admin_secret", "dns_forward", "dns_check", "dns_final"), "#e6f4ea"),
    (("cassandra", "seeds", "ready", "rebuild"), "#fef3d7"),
    (("auth", "keyspaces"), "#f3e5f5"),
)


def _fill(kind: str) -> str:
    return next((fill for kinds, fill in GROUP_FILLS if kind in kinds), "#ffffff")


def layers(plan: Plan) -> list[list[Step]]:
    """The steps by depth (the longest chain of steps before each), in plan order within a depth."""
    depth: dict[str, int] = {}
    for s in plan.steps:  # steps are in topological order
        depth[s.id] = 1 + max((depth[d] for d in s.depends_on), default=-1)
    out: list[list[Step]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for s in plan.steps:
        out[depth[s.id]].append(s)
    return out


def _label(s: Step) -> str:
    if s.dc is None:
        return ""
    return f"{s.dc} → {s.peer}" if s.peer else s.dc


def render_plan_svg(plan: Plan) -> str:
    """A standalone SVG document of the step graph, top to bottom: one row per depth, one arrow per
    dependency; steps that are no task of their own (the interconnect join, verify) are dashed."""
    rows = layers(plan)
    widest = max((len(r) for r in rows), default=0)
    width = max(2 * MARGIN + widest * (STEP_W + GAP_X) - GAP_X, 480)
    height = TITLE_H + 2 * MARGIN + len(rows) * (STEP_H + GAP_Y) - GAP_Y
    at: dict[str, tuple[float, float]] = {}
    for i, row in enumerate(rows):
        left = (width - (len(row) * (STEP_W + GAP_X) - GAP_X)) / 2
        for j, s in enumerate(row):
            at[s.id] = (left + j * (STEP_W + GAP_X), TITLE_H + MARGIN + i * (STEP_H + GAP_Y))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        f"<title>step graph of ring {escape(plan.ring)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#5f6368"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        _text(
            MARGIN, 30, f"ring {plan.ring}: {len(plan.steps)} steps", size=18, anchor="start", weight="bold"
        ),
    ]
    for s in plan.steps:
        x, y = at[s.id]
        for d in s.depends_on:
            dx, dy = at[d]
            parts.append(
                f'<line x1="{dx + STEP_W / 2:.0f}" y1="{dy + STEP_H:.0f}" x2="{x + STEP_W / 2:.0f}" y2="{y:.0f}" '
                'stroke="#9aa0a6" stroke-width="1" marker-end="url(#arrow)"/>'
            )
    for s in plan.steps:
        x, y = at[s.id]
        dash = ' stroke-dasharray="4 3"' if s.kind in NOT_TASKS else ""
        parts += [
            f"<g><title>{escape(s.id)}</title>",
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{STEP_W}" height="{STEP_H}" rx="6" '
            f'fill="{_attr(_fill(s.kind))}" stroke="#5f6368"{dash}/>',
            _text(x + STEP_W / 2, y + (14 if s.dc else 21), s.kind, size=12, weight="bold"),
        ]
        if s.dc:
            parts.append(_text(x + STEP_W / 2, y + 28, _label(s), size=10, fill="#3c4043"))
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
