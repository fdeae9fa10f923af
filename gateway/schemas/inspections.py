"""A line's daily inspection: the bodies of POST /departments/{id}/inspections."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from gateway.schemas.checklists import ItemId
from gateway.schemas.common import RequestModel, ResponseModel
from workflows.vocabulary import MAX_CHECKLIST_ITEMS

SubmissionId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
]


class InspectionSubmit(RequestModel):
    checked: Annotated[list[ItemId], Field(max_length=MAX_CHECKLIST_ITEMS)] = Field(
        default_factory=list,
        description="ids of the checklist's items ticked; every other item counts as not ticked",
    )
    submission_id: SubmissionId | None = Field(
        default=None,
        description="the form's own id (lowercase letters, digits, '-'): sending the same "
        "submission again records it once; default: a new one",
    )


class InspectionRecorded(ResponseModel):
    department_id: str
    metric: str = Field(description="the telemetry metric the inspection feeds")
    value: float = Field(description="share of the checklist's items ticked, 0..1")
    complete: bool = Field(description="every item ticked")
    items: int
    checked: list[str]
    sample_id: str
    event_time: str
    duplicate: bool = Field(description="the same submission was recorded before")
