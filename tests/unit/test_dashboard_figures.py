"""Dashboard figures (services/goals/domain/dashboards.py): which rows an event touches and
how department counters add up."""

from __future__ import annotations

import pytest

from services.goals.domain import dashboards
from stride.goals.v1 import goals_pb2 as pb


def test_an_event_touches_the_departments_of_its_key_results() -> None:
    kr = pb.KeyResult(id="k", objective_id="o", cycle_id="c", department_id="d1")
    moved = pb.KeyResult(id="k", objective_id="o", cycle_id="c", department_id="d0")
    assert dashboards.touched(pb.CheckInRecorded(key_result=kr, cycle_id="c")) == {("c", "d1")}
    assert dashboards.touched(pb.KeyResultUpdated(key_result=kr, before=moved)) == {
        ("c", "d1"),
        ("c", "d0"),
    }
    deleted = pb.ObjectiveDeleted(objective=pb.Objective(id="o", cycle_id="c"), key_results=[kr])
    assert dashboards.touched(deleted) == {("c", "d1"), ("c", dashboards.WHOLE_CYCLE)}
    # An objective's status decides whether its key results count, wherever they belong.
    updated = pb.ObjectiveUpdated(objective=pb.Objective(id="o", cycle_id="c"))
    assert dashboards.touched(updated) == {("c", dashboards.WHOLE_CYCLE)}
    assert dashboards.touched(pb.CycleClosed(cycle=pb.Cycle(id="c"))) == {
        ("c", dashboards.WHOLE_CYCLE)
    }
    assert dashboards.touched(pb.RiskRulesChanged()) == set()
    # A resolved blocker: its key result's department may stop being red.
    resolved = pb.BlockerResolved(
        blocker=pb.DepartmentBlocker(cycle_id="c", from_department_id="d1", department_id="d2")
    )
    assert dashboards.touched(resolved) == {("c", "d1")}


def test_counters_add_up_and_shares_are_over_the_sum() -> None:
    a = dashboards.Figures(
        key_results=2, score_sum=1.8, completed=1, score_bands=[0, 0, 0, 2], objectives=1,
        alignable_objectives=1, aligned_objectives=1,
    )  # fmt: skip
    b = dashboards.Figures(key_results=1, score_sum=0.2, score_bands=[1, 0, 0, 0], objectives=2,
                           alignable_objectives=1)  # fmt: skip
    t = dashboards.total([a, b])
    assert (t.key_results, t.completed, t.score_bands) == (3, 1, [1, 0, 0, 2])
    assert t.average_score == pytest.approx(2.0 / 3)
    assert t.completed_share == pytest.approx(1 / 3)
    assert t.alignment == pytest.approx(0.5)
    assert dashboards.total([]).average_score == 0.0 and dashboards.total([]).alignment == 0.0
    assert dashboards.bands_from_cumulative([1, 1, 2], 4) == [1, 0, 1, 2]
    assert dashboards.weekly([("2025-W47", 2), ("2025-W46", 1), ("2025-W47", 1)]) == [
        ("2025-W46", 1),
        ("2025-W47", 3),
    ]


def test_rows_add_up_as_figures_do() -> None:
    """A read model's plain rows (``FIELDS`` order) add up exactly as the figures they hold:
    the same floats, left to right, and a row stored without bands counts as zeros."""
    parts = [
        dashboards.Figures(key_results=3, score_sum=0.1, score_bands=[1, 1, 1, 0], red=1),
        dashboards.Figures(key_results=0, score_sum=0.2, score_bands=[]),
        dashboards.Figures(key_results=2, score_sum=0.7, score_bands=[0, 0, 1, 1], stale=2),
    ]
    added = dashboards.Figures(score_bands=[0] * dashboards.SCORE_BANDS)
    for p in parts:
        added.add(dashboards.Figures(**{**vars(p), "score_bands": p.score_bands or [0] * 4}))
    summed = dashboards.sum_rows(dashboards.row(p) for p in parts)
    assert summed == added and summed.score_sum == 0.1 + 0.2 + 0.7  # not fsum's 1.0
    assert dashboards.sum_rows([]) == dashboards.Figures()
