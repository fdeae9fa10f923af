"""OKR cycles, plan submission, scores and participation: the bodies of /cycles."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator

from gateway.schemas.common import (
    Day,
    Name,
    ObjectiveIds,
    OptionalId,
    RequestModel,
    ResponseModel,
)
from gateway.schemas.words import CyclePhase, CycleStatusOut, LevelOut
from workflows.vocabulary import (
    APPROVAL_DAYS,
    CLOSING_DAYS,
    FIRST_CYCLE_YEAR,
    LAST_CYCLE_YEAR,
    MAX_CYCLE_DAYS,
    PLANNING_DAYS,
    cycle_dates_problem,
)

_YEARS = f"; every date of a cycle lies in the years {FIRST_CYCLE_YEAR} to {LAST_CYCLE_YEAR}"


def _time_zone(value: str) -> str:
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
    return value


TimeZone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_time_zone)
]


class CycleCreate(RequestModel):
    name: Name
    start_date: Day = Field(description=f"ISO date YYYY-MM-DD, inclusive{_YEARS}")
    end_date: Day = Field(
        description=f"ISO date YYYY-MM-DD, inclusive; at most {MAX_CYCLE_DAYS} days after "
        "start_date"
    )
    time_zone: TimeZone = Field(default="", description="IANA zone; the service default if empty")
    planning_deadline: Day | None = Field(
        default=None,
        description=f"last day to submit objectives (default start_date + {PLANNING_DAYS} days)",
    )
    approval_deadline: Day | None = Field(
        default=None,
        description=f"last day for managers to approve (default start_date + {APPROVAL_DAYS})",
    )
    closing_deadline: Day | None = Field(
        default=None,
        description=f"last day of the self-score window (default end_date + {CLOSING_DAYS})",
    )

    @field_validator("end_date")
    @classmethod
    def _ordered(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start_date")
        if start is not None and (problem := cycle_dates_problem(start, end)) is not None:
            raise ValueError(problem[1])
        return end

    @field_validator("planning_deadline", "approval_deadline")
    @classmethod
    def _within(cls, day: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start, end = info.data.get("start_date"), info.data.get("end_date")
        if day is not None and start is not None and end is not None:
            if not start <= day <= end:
                raise ValueError(f"{info.field_name} must lie within the cycle")
        planning = info.data.get("planning_deadline")
        if info.field_name == "approval_deadline" and day and planning and day < planning:
            raise ValueError("approval_deadline must not be before planning_deadline")
        return day

    @field_validator("closing_deadline")
    @classmethod
    def _after_end(cls, day: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start, end = info.data.get("start_date"), info.data.get("end_date")
        if day is not None and end is not None and day < end:
            raise ValueError("closing_deadline must not be before end_date")
        if day is not None and start is not None and end is not None:
            if (problem := cycle_dates_problem(start, end, day)) is not None:
                raise ValueError(problem[1])
        return day


class Cycle(ResponseModel):
    id: str
    name: str
    start_date: str
    end_date: str
    time_zone: str
    status: CycleStatusOut
    created_at: str
    phase: CyclePhase = "unspecified"
    planning_deadline: str = ""
    approval_deadline: str = ""
    closing_deadline: str = ""
    backfill: bool = Field(
        default=False,
        description="created after its end date: a past cycle being backfilled; it stays open "
        "(in the closing phase, reminding nobody) until HR closes it",
    )


class PlanSubmit(RequestModel):
    objective_ids: ObjectiveIds = Field(
        default_factory=list, description="which drafts; all of the employee's if empty"
    )
    employee_id: OptionalId = Field(
        default="", description="whose plan; the caller if empty (others: admin only)"
    )


class ObjectiveScore(ResponseModel):
    objective_id: str
    title: str
    owner_id: str
    department_id: str
    level: LevelOut
    score: float
    aligned: bool


class PersonScore(ResponseModel):
    employee_id: str
    score: float
    key_result_count: int
    self_score: float | None = None


class DepartmentScore(ResponseModel):
    department_id: str
    score: float
    key_result_count: int
    objective_count: int
    alignment: float


class Scores(ResponseModel):
    cycle_id: str
    objectives: list[ObjectiveScore]
    people: list[PersonScore]
    departments: list[DepartmentScore]
    alignment: float = Field(description="share of non-company objectives aligned to a parent")
    aligned_count: int
    objective_count: int
    next_page_token: str = Field(
        "", description="page_token of the next page of people; empty on the last page"
    )


class Participation(ResponseModel):
    employee_id: str
    draft_objectives: int
    pending_objectives: int
    approved_objectives: int
    key_results: int
    checked_in: int
    at_risk: int


class ParticipationReport(ResponseModel):
    cycle_id: str
    week: str
    people: list[Participation]
    next_page_token: str = Field(
        "", description="page_token of the next page of people; empty on the last page"
    )
