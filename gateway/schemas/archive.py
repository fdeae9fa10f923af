"""Performance archive and calibration: the bodies of /archive, /me/archive,
/cycles/{cycle_id}/archive and /calibrations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from pydantic import Field, StringConstraints

from gateway.schemas.common import HumanText, Id, RequestModel, ResponseModel
from gateway.schemas.words import one_of
from workflows.vocabulary import (
    CALIBRATION_FIELDS,
    MAX_ARCHIVE_COMMENT,
    MAX_CALIBRATION_REASON,
    NINE_BOX_LEVELS,
    RATINGS,
)

if TYPE_CHECKING:
    Rating: TypeAlias = str
    OptionalRating: TypeAlias = str
    CalibrationField: TypeAlias = str
else:
    Rating = one_of(*RATINGS)
    OptionalRating = one_of("", *RATINGS)
    CalibrationField = one_of(*CALIBRATION_FIELDS)

Comment = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_ARCHIVE_COMMENT),
    HumanText(required=False, multiline=True),
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CALIBRATION_REASON),
    HumanText(multiline=True),
]


class ArchiveRecord(ResponseModel):
    id: str
    employee_id: str
    cycle_id: str
    department_id: str
    manager_id: str
    cycle_start: str
    cycle_end: str
    okr_score: float | None = Field(default=None, description="0..1; null until scored")
    self_rating: str = ""
    self_comment: str = ""
    manager_rating: str = ""
    manager_comment: str = ""
    rated_by: str = ""
    feedback_360: dict[str, Any] = Field(
        default_factory=dict, description="The released 360 aggregates of the cycle's round"
    )
    external_metrics: dict[str, Any] = Field(default_factory=dict)
    final_rating: str = ""
    potential: str = ""
    archived_at: str = ""
    updated_at: str = ""


class HistoryEntry(ResponseModel):
    record: ArchiveRecord
    score_delta: float | None = Field(
        default=None, description="OKR score minus the previous cycle's"
    )
    rating_direction: str = Field(
        default="", description='"up", "down" or "same" against the previous cycle\'s rating'
    )


class History(ResponseModel):
    employee_id: str
    entries: list[HistoryEntry]


class ArchivedCycle(ResponseModel):
    created: int = 0
    updated: int = 0
    scored: bool = False


class SelfAssessmentBody(RequestModel):
    rating: Rating = Field(description=f"One of {', '.join(RATINGS)} (best first)")
    comment: Comment = ""


class ManagerRatingBody(RequestModel):
    rating: Rating = Field(description=f"One of {', '.join(RATINGS)} (best first)")
    comment: Comment = ""


class CalibrationOpenBody(RequestModel):
    department_id: Id
    cycle_id: Id


class GuidanceBody(RequestModel):
    shares: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description="Target share per rating (0..1, total at most 1); shown, never enforced",
    )


class CalibrationChangeBody(RequestModel):
    employee_id: Id
    field: CalibrationField
    value: str = Field(
        description=f"final_rating: one of {', '.join(RATINGS)}; potential: one of "
        f"{', '.join(NINE_BOX_LEVELS)}; empty clears it",
        max_length=8,
    )
    reason: Reason


class RatingCount(ResponseModel):
    rating: str
    count: int = 0
    share: float = 0.0
    target: float | None = None


class NineBoxCell(ResponseModel):
    performance: str
    potential: str
    employee_ids: list[str]


class CalibrationChange(ResponseModel):
    employee_id: str
    field: str
    old_value: str = ""
    new_value: str = ""
    reason: str
    actor_id: str
    created_at: str


class Calibration(ResponseModel):
    id: str
    department_id: str
    cycle_id: str
    distribution: list[RatingCount]
    nine_box: list[NineBoxCell]
    unplaced: list[str]
    records: list[ArchiveRecord]
    changes: list[CalibrationChange]
    created_by: str = ""
    created_at: str = ""


class CalibrationList(ResponseModel):
    items: list[Calibration]
