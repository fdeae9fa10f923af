"""Promotion reviews: the bodies of /promotions and /promotion-rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from pydantic import Field, StringConstraints

from gateway.schemas.common import HumanText, Id, OptionalId, RequestModel, ResponseModel
from gateway.schemas.words import one_of
from workflows.vocabulary import (
    GRADE_PATTERN,
    MAX_COMMENT,
    MAX_ELIGIBILITY_RATINGS,
    MAX_PROMOTION_PANEL,
    MAX_TENURE_MONTHS,
    OBJECTION_OUTCOMES,
    PROMOTION_SCORE_MAX,
    PROMOTION_SCORE_MIN,
    RATINGS,
)

if TYPE_CHECKING:
    Outcome: TypeAlias = str
    Rating: TypeAlias = str
else:
    Outcome = one_of(*OBJECTION_OUTCOMES)
    Rating = one_of(*RATINGS)

Grade = Annotated[str, StringConstraints(strip_whitespace=True, pattern=GRADE_PATTERN)]
Comment = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT),
    HumanText(required=False, multiline=True),
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_COMMENT),
    HumanText(multiline=True),
]


class ApplyBody(RequestModel):
    candidate_id: OptionalId = Field(
        default="", description="Whom for: yourself (default) or one of your direct reports"
    )
    current_grade: Grade
    target_grade: Grade


class EndorseBody(RequestModel):
    endorse: bool = Field(description="true endorses the application, false declines it")
    comment: Comment = ""


class PanelBody(RequestModel):
    # Checked by the workflow's rule (each once, no conflict of interest) with stable codes.
    member_ids: Annotated[list[Id], Field(max_length=MAX_PROMOTION_PANEL)]


class ScoreBody(RequestModel):
    # The range is the workflow's rule (422 score_out_of_range).
    score: int = Field(strict=True, description=f"{PROMOTION_SCORE_MIN}..{PROMOTION_SCORE_MAX}")
    comment: Comment = ""


class ObjectionBody(RequestModel):
    reason: Reason


class ResolveBody(RequestModel):
    uphold: bool = Field(description="true upholds the objection, false dismisses it")
    outcome: Outcome | None = Field(
        default=None,
        description="Upheld: back_to_panel (a new panel scores) or reject_case (rejected)",
    )
    comment: Comment = ""


class DecideBody(RequestModel):
    approve: bool
    comment: Comment = ""


class WithdrawBody(RequestModel):
    reason: Comment = ""


class RulesBody(RequestModel):
    min_rating: Rating = Field(description="The worst final rating that still counts (S best)")
    ratings_count: int = Field(strict=True, ge=0, le=MAX_ELIGIBILITY_RATINGS)
    min_tenure_months: int = Field(strict=True, ge=0, le=MAX_TENURE_MONTHS)


class PanelScore(ResponseModel):
    member_id: str
    score: int
    comment: str = ""


class CaseObjection(ResponseModel):
    number: int
    author_id: str = Field(description='HR only ("" for everyone else)')
    reason: str
    status: str
    outcome: str = ""
    comment: str = ""
    raised_at: str = ""


class CaseStep(ResponseModel):
    sequence: int
    step: str
    actor_id: str
    phase: str
    at: str


class PromotionCase(ResponseModel):
    id: str
    candidate_id: str
    applicant_id: str
    manager_id: str
    current_grade: str
    target_grade: str
    status: str
    reasons: list[str]
    panel_ids: list[str]
    scores: list[PanelScore] = Field(description="HR: all; a panel member: their own")
    mean_score: float
    publicity_end: str
    objections: list[CaseObjection]
    decided_by: str
    decision_comment: str
    created_at: str
    updated_at: str
    steps: list[CaseStep] = Field(description="The audited steps (HR only)")
    panel_round: int


class CaseList(ResponseModel):
    items: list[PromotionCase]
    next_page_token: str = ""


class ReviewState(ResponseModel):
    """The review's workflow state after the step (objection authors: HR only)."""

    case_id: str
    phase: str
    reasons: list[str]
    endorsed_by: str
    panel: list[str]
    panel_rounds: int
    panel_due: str
    scores: list[PanelScore]
    mean_score: float
    publicity_start: str
    publicity_end: str
    objections: list[CaseObjection]
    decided_by: str
    decision_comment: str
    withdrawn_by: str


class ObjectionReceipt(ResponseModel):
    case_id: str
    number: int
    publicity_end: str


class EligibilityRules(ResponseModel):
    version: int = Field(description="0: the defaults, never saved")
    min_rating: str
    ratings_count: int
    min_tenure_months: int
    updated_by: str
    updated_at: str
