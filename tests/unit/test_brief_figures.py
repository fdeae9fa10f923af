"""The month-end brief's figures against values computed by hand."""

from __future__ import annotations

import pytest

from workflows.brief_figures import (
    TREND_DOWN,
    TREND_FLAT,
    TREND_NEW,
    TREND_UP,
    BriefData,
    Department,
    KeyResultRow,
    PreviousFigures,
    all_figures,
    band,
    board,
    month_weeks,
    previous_month,
)
from workflows.vocabulary import month_bounds


def _data(previous: dict[str, PreviousFigures] | None = None) -> BriefData:
    return BriefData(
        month="2026-11",
        departments=[Department("d-eng", "Engineering"), Department("d-qa", "质量部")],
        key_results=[
            KeyResultRow("k1", "Cut scrap", "d-eng", 1.0, "on_track"),
            KeyResultRow("k2", "Ship v2", "d-eng", 0.75, "behind"),
            KeyResultRow("k3", "Hire 3", "d-eng", 0.5, "at_risk", False, ["no budget"]),
            KeyResultRow("k4", "Audit", "d-eng", 0.1, "at_risk", True, ["waiting for QA"]),
            KeyResultRow("k5", "降低不良率", "d-qa", 0.2, "on_track"),
        ],
        headcount={"d-eng": 4, "d-qa": 2},
        checked_in={"d-eng": {"2026-W45": 4, "2026-W46": 3, "2026-W47": 2}, "d-qa": {}},
        alignment={"d-eng": (3, 4), "d-qa": (0, 0)},
        feedback_given={"d-eng": 10},
        previous=previous or {},
    )


def test_month_weeks_are_those_whose_thursday_is_in_the_month() -> None:
    # November 2026: Sunday the 1st; Thursdays 5, 12, 19, 26.
    assert month_weeks("2026-11") == ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    # January 2026 starts on a Thursday: its week 1 is January's.
    assert month_weeks("2026-01")[0] == "2026-W01"
    assert month_bounds("2026-02") is not None and month_bounds("2026-02")[1].day == 28  # type: ignore[index]
    assert month_bounds("2026-13") is None and month_bounds("26-01") is None
    assert month_bounds("0000-01") is None and month_bounds("9999-12") is None
    assert previous_month("2026-01") == "2025-12"


@pytest.mark.parametrize(
    ("score", "expected"),
    [(0.0, "missed"), (0.29, "missed"), (0.3, "progress"), (0.7, "delivered"), (1.0, "done")],
)
def test_score_bands(score: float, expected: str) -> None:
    assert band(score) == expected


def test_department_figures_by_hand() -> None:
    eng, qa = all_figures(_data())
    assert eng.key_results == 4
    assert eng.completion == pytest.approx(0.25)  # k1 only
    assert eng.mean_score == pytest.approx((1.0 + 0.75 + 0.5 + 0.1) / 4)
    assert eng.distribution == {"missed": 1, "progress": 1, "delivered": 1, "done": 1}
    assert (eng.at_risk, eng.red) == (2, 1)
    # Red first, with its blockers.
    assert [(r.key_result_id, r.red, r.blockers) for r in eng.risks] == [
        ("k4", True, ["waiting for QA"]),
        ("k3", False, ["no budget"]),
    ]
    assert eng.participation == {
        "2026-W45": 1.0,
        "2026-W46": 0.75,
        "2026-W47": 0.5,
        "2026-W48": 0.0,
    }
    assert eng.alignment == pytest.approx(0.75)
    assert eng.feedback_per_person == pytest.approx(2.5)
    assert eng.trend == TREND_NEW
    # An empty department: zeros, never a division by zero.
    assert (qa.completion, qa.alignment, qa.feedback_per_person) == (0.0, 0.0, 0.0)
    assert qa.distribution["missed"] == 1


def test_trend_against_last_month() -> None:
    eng, qa = all_figures(
        _data(
            {
                "d-eng": PreviousFigures(completion=0.5, mean_score=0.6),
                "d-qa": PreviousFigures(completion=0.0, mean_score=0.1),
            }
        )
    )
    assert eng.trend == TREND_DOWN and eng.completion_change == pytest.approx(-0.25)
    # Completion flat (0 → 0): the mean score decides (0.1 → 0.2).
    assert qa.trend == TREND_UP
    (same,) = all_figures(
        BriefData(
            "2026-11",
            [Department("d", "D")],
            [KeyResultRow("k", "K", "d", 0.5)],
            {"d": 1},
            {},
            {},
            {},
            {"d": PreviousFigures(0.0, 0.502)},
        )
    )
    assert same.trend == TREND_FLAT


def test_board_has_a_row_per_key_result_with_its_department_and_trend() -> None:
    data = _data({"d-eng": PreviousFigures(0.0, 0.0)})
    rows = board(data, all_figures(data))
    assert [(r.department_name, r.title, r.trend) for r in rows] == [
        ("Engineering", "Audit", TREND_UP),
        ("Engineering", "Cut scrap", TREND_UP),
        ("Engineering", "Hire 3", TREND_UP),
        ("Engineering", "Ship v2", TREND_UP),
        ("质量部", "降低不良率", TREND_NEW),
    ]
    assert rows[0].risk_status == "at_risk"
