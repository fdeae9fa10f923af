"""Rendering the month-end department brief: HTML (inline SVG charts) and PDF (charts drawn
as vector shapes), in zh-CN or en.

Pure apart from reading the font file: figures in → text or bytes out. The PDF library
(fpdf2) and the CJK font (WenQuanYi Micro Hei from paperang-p2-fonts-cjk) are imported lazily inside
:func:`render_pdf`, so the worker pays their memory only while a brief is rendered. The font
is embedded (subset to the glyphs used), so Chinese renders on a machine without any Asian
font installed. Why these packages: docs/reports.md.
"""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

from workflows.brief_figures import BANDS, BoardRow, DepartmentFigures
from workflows.vocabulary import LANGUAGES, Risk

ZH, EN = LANGUAGES

# The CJK font embedded in the PDF: WenQuanYi Micro Hei (TrueType, OFL), shipped by the PyPI
# package paperang-p2-fonts-cjk (docs/reports.md says why this one).
FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_FILE = "fonts/wqy-microhei.ttc"

# The board in a department's brief: the key results that are not on track across every
# department (red and at risk first), at most this many rows.
BOARD_ROWS = 40

TEXTS: dict[str, dict[str, str]] = {
    ZH: {
        "title": "{month} 月度部门简报:{department}",
        "key_results": "关键结果",
        "completion": "完成率",
        "mean_score": "平均得分",
        "distribution": "得分分布",
        "missed": "未达成 (<0.3)",
        "progress": "有进展 (0.3–0.7)",
        "delivered": "基本达成 (0.7–1.0)",
        "done": "已完成 (1.0)",
        "at_risk_label": "有风险",
        "red": "红色预警",
        "blockers": "阻碍",
        "none": "无",
        "participation": "每周进展更新参与率",
        "alignment": "目标对齐率",
        "feedback": "人均反馈次数",
        "trend": "较上月趋势",
        "up": "上升",
        "down": "下降",
        "flat": "持平",
        "new": "无上月数据",
        "board": "跨部门目标看板",
        "department": "部门",
        "status": "状态",
        "score": "得分",
        "more": "另有 {count} 项",
        Risk.NO_DATA: "无数据",
        Risk.ON_TRACK: "正常",
        Risk.BEHIND: "落后",
        Risk.AT_RISK: "有风险",
        Risk.STALE: "数据中断",
    },
    EN: {
        "title": "Department brief {month}: {department}",
        "key_results": "Key results",
        "completion": "Completion",
        "mean_score": "Mean score",
        "distribution": "Score distribution",
        "missed": "Missed (<0.3)",
        "progress": "Progress (0.3-0.7)",
        "delivered": "Delivered (0.7-1.0)",
        "done": "Done (1.0)",
        "at_risk_label": "At risk",
        "red": "Red",
        "blockers": "Blockers",
        "none": "None",
        "participation": "Weekly check-in participation",
        "alignment": "Alignment",
        "feedback": "Feedback per person",
        "trend": "Trend vs last month",
        "up": "up",
        "down": "down",
        "flat": "flat",
        "new": "no figures for last month",
        "board": "Cross-department objective board",
        "department": "Department",
        "status": "Status",
        "score": "Score",
        "more": "and {count} more",
        Risk.NO_DATA: "no data",
        Risk.ON_TRACK: "on track",
        Risk.BEHIND: "behind",
        Risk.AT_RISK: "at risk",
        Risk.STALE: "stale",
    },
}


def texts(language: str) -> dict[str, str]:
    """The brief's texts in ``language`` (English for anything but zh-CN)."""
    return TEXTS.get(language, TEXTS[EN])


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def score(value: float) -> str:
    return f"{value:.2f}"


def change(value: float) -> str:
    return f"{value * 100:+.1f} pt"


def board_rows(rows: list[BoardRow]) -> tuple[list[BoardRow], int]:
    """The board rows a brief shows (not on track, at risk first) and how many were left off."""
    shown = [r for r in rows if r.risk_status != Risk.ON_TRACK.value]
    order = {Risk.AT_RISK.value: 0, Risk.STALE.value: 1, Risk.BEHIND.value: 2}
    shown.sort(key=lambda r: (order.get(r.risk_status, 3), r.department_name, r.title))
    return shown[:BOARD_ROWS], max(0, len(shown) - BOARD_ROWS)


def summary_lines(figures: DepartmentFigures, t: dict[str, str]) -> list[tuple[str, str]]:
    """The headline figures as (label, value), the same in HTML and PDF."""
    return [
        (t["key_results"], str(figures.key_results)),
        (t["completion"], percent(figures.completion)),
        (t["mean_score"], score(figures.mean_score)),
        (t["at_risk_label"], str(figures.at_risk)),
        (t["red"], str(figures.red)),
        (t["alignment"], percent(figures.alignment)),
        (t["feedback"], f"{figures.feedback_per_person:.2f}"),
        (
            t["trend"],
            t[figures.trend]
            + (
                f" ({change(figures.completion_change)})"
                if figures.trend in ("up", "down", "flat")
                else ""
            ),
        ),
    ]


def _svg_bars(values: list[tuple[str, float, str]], maximum: float) -> str:
    """A horizontal bar chart as inline SVG: (label, value, value text) per bar."""
    height = 22 * len(values) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="520" height="{height}" role="img">']
    for i, (label, value, shown) in enumerate(values):
        y = 4 + 22 * i
        width = 0 if maximum <= 0 else round(300 * value / maximum)
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="12">{html.escape(label)}</text>'
            f'<rect x="160" y="{y}" width="{width}" height="16" fill="#3b7dd8"/>'
            f'<text x="{166 + width}" y="{y + 13}" font-size="12">{html.escape(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(
    figures: DepartmentFigures, rows: list[BoardRow], language: str, left_off: int = 0
) -> str:
    """The brief as one self-contained HTML page (charts as inline SVG); ``left_off``: board
    rows left off before (the stored board is already cut)."""
    t = texts(language)
    e = html.escape
    title = t["title"].format(month=figures.month, department=figures.department_name)
    out = [
        f'<!doctype html><html lang="{e(language)}"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title></head><body><h1>{e(title)}</h1>",
        '<table class="summary">',
    ]
    out += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary_lines(figures, t)]
    out.append(f"</table><h2>{e(t['distribution'])}</h2>")
    top = max(figures.distribution.values(), default=0)
    out.append(
        _svg_bars(
            [(t[b], figures.distribution[b], str(figures.distribution[b])) for b in BANDS], top
        )
    )
    out.append(f"<h2>{e(t['participation'])}</h2>")
    out.append(_svg_bars([(w, v, percent(v)) for w, v in figures.participation.items()], 1.0))
    out.append(f"<h2>{e(t['at_risk_label'])} / {e(t['red'])}</h2><ul>")
    for risk in figures.risks:
        flag = f" [{e(t['red'])}]" if risk.red else ""
        blockers = "; ".join(risk.blockers) or t["none"]
        out.append(f"<li>{e(risk.title)}{flag} — {e(t['blockers'])}: {e(blockers)}</li>")
    out.append(f'</ul><h2>{e(t["board"])}</h2><table class="board">')
    out.append(
        f"<tr><th>{e(t['key_results'])}</th><th>{e(t['department'])}</th>"
        f"<th>{e(t['status'])}</th><th>{e(t['score'])}</th><th>{e(t['trend'])}</th></tr>"
    )
    shown, more = board_rows(rows)
    left_off += more
    for row in shown:
        out.append(
            f"<tr><td>{e(row.title)}</td><td>{e(row.department_name)}</td>"
            f"<td>{e(t.get(row.risk_status, row.risk_status))}</td><td>{score(row.score)}</td>"
            f"<td>{e(t[row.trend])}</td></tr>"
        )
    out.append("</table>")
    if left_off:
        out.append(f"<p>{e(t['more'].format(count=left_off))}</p>")
    out.append("</body></html>")
    return "\n".join(out)


def _bars(pdf: Any, values: list[tuple[str, float, str]], maximum: float) -> None:
    """A horizontal bar chart drawn with vector shapes at the current position."""
    left = pdf.l_margin
    for label, value, shown in values:
        y = pdf.get_y()
        width = 0.0 if maximum <= 0 else 100.0 * value / maximum
        pdf.set_xy(left, y)
        pdf.cell(55, 6, label)
        pdf.set_fill_color(59, 125, 216)
        if width > 0:
            pdf.rect(left + 56, y + 1, width, 4.5, style="F")
        pdf.set_xy(left + 58 + width, y)
        pdf.cell(30, 6, shown, new_x="LMARGIN", new_y="NEXT")


def render_pdf(
    figures: DepartmentFigures, rows: list[BoardRow], language: str, left_off: int = 0
) -> bytes:
    """The brief as a PDF (A4) with the font embedded; charts are vector bars."""
    from fpdf import FPDF  # lazily: only the rendering activity pays for it

    t = texts(language)
    pdf = FPDF(format="A4")
    pdf.set_title(t["title"].format(month=figures.month, department=figures.department_name))
    pdf.set_auto_page_break(auto=True, margin=15)
    with resources.as_file(resources.files(FONT_PACKAGE) / FONT_FILE) as font:
        pdf.add_font("cjk", "", str(font), collection_font_number=0)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.multi_cell(
        0,
        9,
        t["title"].format(month=figures.month, department=figures.department_name),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    pdf.set_font("cjk", size=10)
    for label, value in summary_lines(figures, t):
        pdf.cell(55, 6, label)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 7, t["distribution"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    top = max(figures.distribution.values(), default=0)
    _bars(pdf, [(t[b], figures.distribution[b], str(figures.distribution[b])) for b in BANDS], top)
    pdf.ln(3)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 7, t["participation"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    _bars(pdf, [(w, v, percent(v)) for w, v in figures.participation.items()], 1.0)
    pdf.ln(3)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 7, f"{t['at_risk_label']} / {t['red']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    if not figures.risks:
        pdf.cell(0, 6, t["none"], new_x="LMARGIN", new_y="NEXT")
    for risk in figures.risks:
        flag = f" [{t['red']}]" if risk.red else ""
        blockers = "; ".join(risk.blockers) or t["none"]
        pdf.multi_cell(
            0,
            6,
            f"- {risk.title}{flag}: {t['blockers']}: {blockers}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(3)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 7, t["board"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    shown, more = board_rows(rows)
    left_off += more
    widths = (70, 45, 25, 15, 25)
    header = (t["key_results"], t["department"], t["status"], t["score"], t["trend"])
    for width, text in zip(widths, header, strict=True):
        pdf.cell(width, 6, text, border="B")
    pdf.ln()
    for row in shown:
        cells = (
            row.title[:40],
            row.department_name[:24],
            t.get(row.risk_status, row.risk_status),
            score(row.score),
            t[row.trend],
        )
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 5.5, text)
        pdf.ln()
    if left_off:
        pdf.cell(0, 6, t["more"].format(count=left_off), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
