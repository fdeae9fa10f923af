"""Charts as inline SVG, drawn on the server from a dashboard the API returned: horizontal
bars (one per department, its completion) and columns (check-ins per ISO week).

Each chart has a ``<title>`` and every bar a text label with its number, so the figures are
readable without the picture (screen readers, printouts) and a test can find them.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 150
BAR_WIDTH = 200


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def bars(rows: list[tuple[str, float, str]], title: str) -> str:
    """Horizontal bars: (label, share 0..1, the number written beside the bar)."""
    body = []
    for i, (label, share, shown) in enumerate(rows):
        y = i * (BAR_HEIGHT + GAP)
        length = max(0.0, min(1.0, share)) * BAR_WIDTH
        body.append(
            f'<text x="0" y="{y + 15}" class="chart-label">{escape(label[:22])}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" '
            f'class="chart-track"/>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
            f'class="chart-bar"/>'
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 15}" class="chart-value">'
            f"{escape(shown)}</text>"
        )
    height = max(1, len(rows)) * (BAR_HEIGHT + GAP)
    return _svg(LABEL_WIDTH + BAR_WIDTH + 50, height, title, body)


def columns(rows: list[tuple[str, int]], title: str) -> str:
    """Vertical columns: (label, count), scaled to the largest count."""
    top = max((n for _, n in rows), default=0) or 1
    width, chart_height = 36, 120
    body = []
    for i, (label, n) in enumerate(rows):
        x = i * (width + GAP)
        h = n / top * chart_height
        body.append(
            f'<rect x="{x}" y="{20 + chart_height - h:.1f}" width="{width}" height="{h:.1f}" '
            f'class="chart-bar"/>'
            f'<text x="{x + width / 2}" y="{14 + chart_height - h:.1f}" class="chart-value" '
            f'text-anchor="middle">{n}</text>'
            f'<text x="{x + width / 2}" y="{chart_height + 36}" class="chart-label" '
            f'text-anchor="middle">{escape(label[-3:])}</text>'
        )
    return _svg(max(1, len(rows)) * (width + GAP), chart_height + 44, title, body)


def department_scores(dashboard: dict[str, Any], departments: dict[str, dict[str, Any]]) -> str:
    rows = []
    for row in dashboard["departments"]:
        name = departments.get(row["department_id"], {}).get("name", row["department_id"])
        score = float(row["figures"]["average_score"])
        rows.append((name, score, f"{round(score * 100)}%"))
    return bars(rows, "Completion by department")


def weekly_check_ins(dashboard: dict[str, Any]) -> str:
    return columns([(w["week"], int(w["check_ins"])) for w in dashboard["weeks"]], "Check-ins")
