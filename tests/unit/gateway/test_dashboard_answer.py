"""The dashboard's answer read straight from goals' message (gateway.convert.model_dict): the
same bytes as converting every field, validating the dict against the response model and
serializing it (what FastAPI does with a returned dict), for less CPU."""

from __future__ import annotations

import math

import pytest
from pydantic import TypeAdapter

from gateway.convert import model_dict, model_json, to_dict
from gateway.routers.dashboards import with_feedback
from gateway.schemas.dashboards import Dashboard, DashboardFigures, DepartmentDashboard
from gateway.schemas.key_results import KeyResult
from stride.common.v1 import common_pb2
from stride.feedback.v1 import feedback_pb2 as fpb
from stride.goals.v1 import goals_pb2 as pb


def _figures(i: int) -> pb.DashboardFigures:
    return pb.DashboardFigures(
        key_results=i, average_score=i / 7, completed=i // 3, completed_share=1e-7 * i,
        score_bands=[i, 0, 1, 2], behind=1, at_risk=2, stale=3, red=4, objectives=5,
        alignable_objectives=6, aligned_objectives=7, alignment=6 / 7,
    )  # fmt: skip


def _validated(dashboard: pb.Dashboard, frequency: fpb.FeedbackFrequency) -> bytes:
    """The answer as converting and validating every value gives it."""
    body = to_dict(dashboard)
    given = {r.department_id: r.total for r in frequency.by_department}
    for row in body["departments"]:
        row["feedback_given"] = 0 if row["people_only"] else given.get(row["department_id"], 0)
    body["feedback"] = [{"week": r.week, "given": r.total} for r in frequency.by_week]
    body["feedback_given"] = sum(r.total for r in frequency.by_week)
    page = body.pop("page")
    body["next_page_token"] = page["next_page_token"] if page else ""
    adapter = TypeAdapter(Dashboard)
    return adapter.dump_json(adapter.validate_python(body, from_attributes=True))


def test_same_bytes_as_validating_every_value() -> None:
    dashboard = pb.Dashboard(
        cycle_id="c-1",
        total=_figures(40),
        departments=[
            pb.DepartmentDashboard(department_id=f"d-{i}", figures=_figures(i)) for i in range(30)
        ]
        + [
            pb.DepartmentDashboard(department_id="d-3", figures=_figures(2), people_only=True),
            pb.DepartmentDashboard(department_id="部门", figures=pb.DashboardFigures()),
        ],
        weeks=[pb.WeekActivity(week="2026-W01", check_ins=3)],
        page=common_pb2.PageResponse(next_page_token="YTpkLTI5"),
    )
    frequency = fpb.FeedbackFrequency(
        by_department=[fpb.FrequencyRow(department_id="d-3", total=5)],
        by_week=[
            fpb.FrequencyRow(week="2026-W01", total=2),
            fpb.FrequencyRow(week="2026-W02", total=3),
        ],
    )
    answer = model_json(with_feedback(dashboard, frequency))
    assert answer == _validated(dashboard, frequency)
    assert b'"feedback_given":5,"people_only":false' in answer  # d-3 as a whole department
    assert b'"feedback_given":0,"people_only":true' in answer  # d-3's other reports
    assert answer.endswith(b',"next_page_token":"YTpkLTI5"}')
    empty = pb.Dashboard(cycle_id="c-2", total=pb.DashboardFigures())
    assert model_json(with_feedback(empty, fpb.FeedbackFrequency())) == _validated(
        empty, fpb.FeedbackFrequency()
    )


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.0, 1e300, 5e-324])
def test_odd_floats_are_written_as_pydantic_writes_them(value: float) -> None:
    figures = _figures(1)
    figures.average_score = value
    adapter = TypeAdapter(DashboardFigures)
    expected = adapter.dump_json(adapter.validate_python(to_dict(figures)))
    assert model_json(model_dict(figures, DashboardFigures)) == expected


def test_a_message_that_does_not_fit_the_model_is_refused_once_planned() -> None:
    with pytest.raises(TypeError, match="feedback_given"):
        model_dict(pb.DepartmentDashboard(), DepartmentDashboard)  # not given
    with pytest.raises(TypeError, match="also needs"):
        model_dict(pb.DepartmentDashboard(), DashboardFigures)  # no such fields
    with pytest.raises(TypeError, match="is not read from"):
        model_dict(pb.KeyResult(), KeyResult)  # enums, optional fields: not planned
