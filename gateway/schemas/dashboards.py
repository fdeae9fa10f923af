"""Dashboards: organisation, department and "my organisation" figures of a cycle."""

from __future__ import annotations

from pydantic import Field

from gateway.schemas.check_ins import BlockerOut
from gateway.schemas.common import ResponseModel
from gateway.schemas.key_results import KeyResult


class DashboardFigures(ResponseModel):
    key_results: int
    average_score: float = Field(description="completion: the mean key-result score (0..1)")
    completed: int = Field(description="key results scoring 1")
    completed_share: float
    score_bands: list[int] = Field(
        description="key results by score: [0, .25), [.25, .5), [.5, .75), [.75, 1]"
    )
    behind: int
    at_risk: int
    stale: int
    red: int = Field(
        description="at risk with an open blocker naming another department (the escalation "
        "ladder's red; counted in at_risk too)"
    )
    objectives: int
    alignable_objectives: int = Field(description="non-company objectives")
    aligned_objectives: int
    alignment: float = Field(description="share of non-company objectives aligned to a parent")


class DepartmentDashboard(ResponseModel):
    department_id: str
    figures: DashboardFigures
    feedback_given: int = Field(
        description="feedback, praise, upward feedback and challenges given by the "
        "department's people during the cycle's weeks (0 on people_only rows)"
    )
    people_only: bool = Field(
        description="only the goals of the caller's reports who work there, not the whole "
        "department"
    )


class WeekActivity(ResponseModel):
    week: str = Field(description='ISO week "YYYY-Www"')
    check_ins: int


class FeedbackWeek(ResponseModel):
    week: str = Field(description='ISO week "YYYY-Www"')
    given: int


class Dashboard(ResponseModel):
    cycle_id: str
    total: DashboardFigures
    departments: list[DepartmentDashboard]
    weeks: list[WeekActivity] = Field(description="check-ins per ISO week, oldest first")
    feedback: list[FeedbackWeek] = Field(
        description="feedback frequency: items given per ISO week of the cycle by the people "
        "of the departments shown (whole departments; the feedback service's counts)"
    )
    feedback_given: int
    next_page_token: str = Field(
        "", description="page_token of the next page of departments; empty on the last page"
    )


class RiskItem(ResponseModel):
    key_result: KeyResult
    week: str = Field(description='the latest check-in\'s ISO week ("" without one)')
    blockers: list[BlockerOut] = Field(description="the latest check-in's blockers")
