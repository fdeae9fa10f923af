"""The month-end brief renders as HTML and as a PDF whose text (extracted with pypdf) carries
each figure, in English and in Chinese, with the CJK font embedded (no system font needed)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

from pypdf import PdfReader

from activities.brief_render import render_html, render_pdf
from workflows.brief_figures import (
    BriefData,
    Department,
    KeyResultRow,
    PreviousFigures,
    all_figures,
    board,
)

ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts"


def _data() -> BriefData:
    return BriefData(
        month="2026-11",
        departments=[Department("d-eng", "Engineering"), Department("d-qa", "质量部")],
        key_results=[
            KeyResultRow("k1", "Cut scrap", "d-eng", 1.0, "on_track"),
            KeyResultRow("k2", "Ship v2", "d-eng", 0.75, "behind"),
            KeyResultRow("k3", "Hire 3", "d-eng", 0.5, "at_risk", False, ["no budget"]),
            KeyResultRow("k4", "Audit", "d-eng", 0.1, "at_risk", True, ["等待质量部"]),
            KeyResultRow("k5", "降低不良率", "d-qa", 0.2, "at_risk"),
        ],
        headcount={"d-eng": 4, "d-qa": 2},
        checked_in={"d-eng": {"2026-W45": 4, "2026-W46": 3}, "d-qa": {"2026-W45": 1}},
        alignment={"d-eng": (3, 4), "d-qa": (1, 1)},
        feedback_given={"d-eng": 10, "d-qa": 1},
        previous={"d-eng": PreviousFigures(0.5, 0.6)},
    )


def pdf_text(pdf: bytes) -> str:
    """The PDF's text with all whitespace removed (extraction spaces CJK glyphs apart)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", "", text)


def test_english_pdf_carries_each_figure_and_the_charts() -> None:
    data = _data()
    eng = all_figures(data)[0]
    pdf = render_pdf(eng, board(data, all_figures(data)), "en")
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in (
        "Departmentbrief2026-11:Engineering",
        "Completion25.0%",
        "Meanscore0.59",
        "Atrisk2",
        "Red1",
        "Alignment75.0%",
        "Feedbackperperson2.50",
        "down(-25.0pt)",
        "2026-W45100.0%",
        "2026-W4675.0%",
        "2026-W480.0%",
        "Audit[Red]:Blockers:等待质量部",
        "降低不良率质量部atrisk0.20",  # the board shows other departments' key results
    ):
        assert expected in text, expected
    # The font is embedded (subset), not expected on the machine.
    assert b"/FontFile" in pdf


def test_chinese_pdf_renders_chinese_text() -> None:
    data = _data()
    qa = all_figures(data)[1]
    text = pdf_text(render_pdf(qa, board(data, all_figures(data)), "zh-CN"))
    assert "2026-11月度部门简报:质量部" in text
    assert "完成率0.0%" in text
    assert "目标对齐率100.0%" in text
    assert "较上月趋势无上月数据" in text
    assert "跨部门目标看板" in text


def test_html_has_inline_charts_and_escapes_titles() -> None:
    data = _data()
    data.key_results[0].title = "<script>x</script>"
    eng = all_figures(data)[0]
    page = render_html(eng, board(data, all_figures(data)), "zh-CN")
    assert page.count("<svg") == 2
    assert "<script>x" not in page
    assert "完成率</th><td>25.0%" in page
    assert "Audit [红色预警] — 阻碍: 等待质量部" in page


def test_a_rendered_page_is_kept_as_a_png_artefact() -> None:
    data = _data()
    pdf = render_pdf(all_figures(data)[0], board(data, all_figures(data)), "zh-CN")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "monthly-brief.pdf").write_bytes(pdf)
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "poppler-utils (pdftoppm) is installed by .ci/run"
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", "-singlefile", "-", str(ARTEFACTS / "monthly-brief")],
        input=pdf,
        check=True,
    )
    assert (ARTEFACTS / "monthly-brief.png").stat().st_size > 1000
