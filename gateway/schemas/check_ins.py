"""Check-ins, single and bulk (the phone screen's one request): the bodies of
/key-results/{id}/check-ins and /check-ins."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from gateway.schemas.common import (
    Amount,
    Confidence,
    HumanText,
    Id,
    OptionalId,
    RequestModel,
    ResponseModel,
    Text,
    Week,
    unique,
)
from gateway.schemas.key_results import RiskAssessment
from workflows.vocabulary import (
    MAX_BLOCKER_TEXT,
    MAX_BLOCKERS,
    MAX_BULK_CHECK_INS,
    MAX_CHECKLIST_ITEMS,
)


class Blocker(RequestModel):
    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_BLOCKER_TEXT),
        HumanText(multiline=True),
    ]
    department_id: OptionalId = Field(default="", description="the department whose help is needed")


class ChecklistAnswer(RequestModel):
    item_id: Id
    checked: Annotated[bool, Field(strict=True)]


class CheckInCreate(RequestModel):
    value: Amount = Field(description="boolean: 0 or 1; milestone: the number of steps completed")
    confidence: Confidence = Field(description="0 (no confidence) to 10 (certain)")
    note: Text = ""
    week: Week | None = Field(
        default=None, description='ISO week "YYYY-Www"; the current week if omitted'
    )
    blockers: Annotated[list[Blocker], Field(max_length=MAX_BLOCKERS)] = Field(default_factory=list)
    answers: Annotated[list[ChecklistAnswer], Field(max_length=MAX_CHECKLIST_ITEMS)] = Field(
        default_factory=list, description="answers to the department's checklist"
    )

    @field_validator("answers")
    @classmethod
    def _distinct(cls, answers: list[ChecklistAnswer]) -> list[ChecklistAnswer]:
        unique([a.item_id for a in answers], "checklist item")
        return answers

    def proto_fields(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "confidence": self.confidence,
            "note": self.note,
            "week": self.week or "",
            "blockers": [b.model_dump() for b in self.blockers],
            "answers": [a.model_dump() for a in self.answers],
        }


class BulkCheckInEntry(CheckInCreate):
    key_result_id: Id


class BulkCheckIn(RequestModel):
    """The phone screen's one request: check-ins on several of one person's key results,
    all recorded or none."""

    check_ins: Annotated[list[BulkCheckInEntry], Field(min_length=1, max_length=MAX_BULK_CHECK_INS)]
    week: Week | None = Field(default=None, description="default week of entries without one")
    owner_id: OptionalId = Field(
        default="", description="whose key results; the caller if empty (others: admin only)"
    )

    @field_validator("check_ins")
    @classmethod
    def _distinct(cls, entries: list[BulkCheckInEntry]) -> list[BulkCheckInEntry]:
        unique([e.key_result_id for e in entries], "key result")
        return entries


class BlockerOut(ResponseModel):
    text: str
    department_id: str
    id: str = Field(
        default="",
        description="for a blocker naming a department: its id in that department's blockers",
    )


class ChecklistAnswerOut(ResponseModel):
    item_id: str
    checked: bool


class CheckIn(ResponseModel):
    id: str
    key_result_id: str
    week: str
    value: float
    confidence: int
    note: str
    recorded_at: str
    risk: RiskAssessment | None
    revision: int
    blockers: list[BlockerOut] = Field(default_factory=list)
    answers: list[ChecklistAnswerOut] = Field(default_factory=list)
    score: float = 0.0
    recorded_by: str = ""


class BulkCheckInResult(ResponseModel):
    check_ins: list[CheckIn]


class CheckInImport(ResponseModel):
    """What an import did (or, as a dry run, would do)."""

    dry_run: bool
    rows: int = Field(description="data rows read (empty rows skipped)")
    check_ins: int = Field(description="check-ins recorded (a dry run: that would be)")
    key_results: int
    weeks: list[str] = Field(description="the ISO weeks of the rows")
