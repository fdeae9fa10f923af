"""Blockers addressed to a department and coordination meetings: the bodies of
/departments/{id}/blockers and /key-results/{id}/coordination."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway.schemas.common import Day, HumanText, RequestModel, ResponseModel
from workflows.coordination import MAX_OUTCOME_TEXT


class DepartmentBlocker(ResponseModel):
    id: str
    department_id: str = Field(description="the department whose help is needed")
    text: str
    key_result_id: str
    check_in_id: str
    week: str = Field(description="ISO week of the check-in that raised it")
    owner_id: str = Field(description="owner of the key result")
    from_department_id: str = Field(description="the key result's department")
    cycle_id: str
    created_at: str
    resolved_at: str = Field(description="empty while open")
    resolved_by: str


OutcomeText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_OUTCOME_TEXT),
    HumanText(multiline=True),
]


class CoordinationOutcomeBody(RequestModel):
    outcome: OutcomeText = Field(description="what the meeting agreed")
    follow_up: Day = Field(description="ISO date (organisation time) to check again; not past")


class CoordinationParticipant(BaseModel):
    model_config = ConfigDict(extra="allow")

    employee_id: str
    role: str = Field(description='"owner", "manager" or "blocking_head"')


class CoordinationOutcome(BaseModel):
    model_config = ConfigDict(extra="allow")

    outcome: str
    follow_up: str
    by: str
    at: str


class CoordinationState(BaseModel):
    """The ``state`` query of ``coordination/<key_result_id>/<n>``."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(default="", description="the workflow id, coordination/<kr>/<n>")
    key_result_id: str
    number: int
    reason: str = Field(description='"blocker" or "lagging"')
    status: str = Field(description='"open" or "resolved"')
    resolution: str = Field(description='"blockers_resolved", "back_on_track", "cycle_ended"')
    blocker_department_id: str
    participants: list[CoordinationParticipant]
    meeting_start: str = Field(description="RFC 3339 UTC")
    meeting_end: str
    open_blockers: list[str]
    resolved_blockers: list[str]
    outcomes: list[CoordinationOutcome]
    follow_up: str
    reminded: list[str]
