"""Bodies of the talent routes: high-potential suggestions (HR) and managers' dimensions
(the formulas: docs/talent.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from pydantic import Field, StringConstraints

from gateway.schemas.common import HumanText, OptionalId, RequestModel, ResponseModel
from gateway.schemas.words import one_of
from workflows import vocabulary as v

if TYPE_CHECKING:
    SuggestionStatusFilter: TypeAlias = str
else:
    SuggestionStatusFilter = one_of(
        "", v.SUGGESTION_OPEN, v.SUGGESTION_CONFIRMED, v.SUGGESTION_DISMISSED
    )

Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=v.MAX_FEEDBACK_TEXT),
    HumanText(multiline=True),
]


class SuggestionsCompute(RequestModel):
    department_id: OptionalId = Field(
        default="", description="exactly this department's people; the organisation if empty"
    )


class SuggestionDecision(RequestModel):
    reason: Reason = Field(description="why HR confirms or dismisses it (audited)")


class Suggestion(ResponseModel):
    id: str
    cycle_id: str
    employee_id: str
    department_id: str
    status: str = Field(description="open | confirmed | dismissed")
    reasons: list[str] = Field(
        default_factory=list, description="stable, innovative, top_rated (docs/talent.md)"
    )
    cycles: int = Field(default=0, description="scored cycles the stability is over")
    level: float = Field(default=0.0, description="mean OKR score over those cycles")
    spread: float = Field(default=0.0, description="their population standard deviation")
    stretch_objectives: int = 0
    stretch_met: int = 0
    improvement_praise: int = 0
    accepted_challenges: int = 0
    innovation_points: int = 0
    final_rating: str = ""
    decided_by: str = ""
    decided_at: str = ""
    decision_reason: str = ""
    created_at: str = ""
    updated_at: str = ""


class SuggestionsComputed(ResponseModel):
    people: int = Field(default=0, description="people whose numbers were computed")
    suggestions: list[Suggestion] = Field(default_factory=list)


class ManagerDimensions(ResponseModel):
    cycle_id: str
    manager_id: str
    team_size: int = Field(default=0, description="direct reports")
    objectives: int = Field(default=0, description="the manager's and the team's objectives")
    stretch_objectives: int = 0
    stretch_share: float | None = Field(default=None, description="absent: no objectives")
    ambition: float | None = Field(
        default=None,
        description="median |target − baseline| / |baseline| of the key results (absent: "
        "none with a baseline ≠ 0)",
    )
    manager_expected: int = 0
    manager_on_time: int = 0
    manager_on_time_share: float | None = None
    team_expected: int = 0
    team_on_time: int = 0
    team_on_time_share: float | None = None
