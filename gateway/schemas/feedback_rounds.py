"""360 rounds: the bodies of /feedback-templates, /feedback-rounds and /me/feedback-rounds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from pydantic import AfterValidator, Field, StringConstraints

from gateway.schemas.common import (
    Day,
    HumanText,
    Id,
    Name,
    OptionalId,
    RequestModel,
    ResponseModel,
    unique,
)
from gateway.schemas.words import one_of
from workflows.vocabulary import (
    MAX_COMMENT,
    MAX_QUESTION_TEXT,
    MAX_ROUND_PEERS,
    MAX_ROUND_REPORTS,
    MAX_TEMPLATE_QUESTIONS,
    QUESTION_ID_PATTERN,
    QUESTION_KINDS,
    RATING_MAX,
    RATING_MIN,
)

if TYPE_CHECKING:
    QuestionKind: TypeAlias = str
else:
    QuestionKind = one_of(*QUESTION_KINDS)

QuestionWording = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_TEXT),
    HumanText(multiline=True),
]
QuestionId = Annotated[str, StringConstraints(pattern=QUESTION_ID_PATTERN)]


def _once(ids: list[str]) -> list[str]:
    unique(ids, "employee")
    return ids


# People a subject nominates, each once.
Peers = Annotated[list[Id], Field(max_length=MAX_ROUND_PEERS), AfterValidator(_once)]
Reports = Annotated[list[Id], Field(max_length=MAX_ROUND_REPORTS), AfterValidator(_once)]


# --- templates ---------------------------------------------------------------------------------
class QuestionBody(RequestModel):
    id: QuestionId | None = Field(
        default=None, description='A slug unique in the template; default "q<position>"'
    )
    kind: QuestionKind = Field(description=f"rating ({RATING_MIN}..{RATING_MAX}) or text")
    text_zh: QuestionWording
    text_en: QuestionWording
    anonymous: bool = Field(
        default=True,
        description="Peers' and reports' answers only as aggregates (self and manager: named)",
    )


class TemplateBody(RequestModel):
    name: Name
    questions: list[QuestionBody] = Field(min_length=1, max_length=MAX_TEMPLATE_QUESTIONS)


class Question(ResponseModel):
    id: str
    kind: str
    text_zh: str
    text_en: str
    anonymous: bool


class Template(ResponseModel):
    id: str
    name: str
    questions: list[Question]
    archived: bool
    created_at: str
    updated_at: str


# --- rounds ------------------------------------------------------------------------------------
class StartRoundsBody(RequestModel):
    cycle_id: Id
    template_id: Id
    department_id: OptionalId = Field(default="", description="Empty: the whole organisation")
    deadline: Day
    nominations_due: Day


class Rater(ResponseModel):
    employee_id: str
    relation: str
    status: str


class Round(ResponseModel):
    id: str
    cycle_id: str
    subject_id: str
    manager_id: str
    department_id: str
    template_id: str
    phase: str
    deadline: str
    nominations_due: str
    raters: list[Rater]
    questions: list[Question]
    created_at: str
    closed_at: str


class StartedRounds(ResponseModel):
    rounds: list[Round]
    already: int = Field(description="Subjects in scope who already had a round in the cycle")


class RoundList(ResponseModel):
    items: list[Round]


class NominationBody(RequestModel):
    peer_ids: Peers = Field(default_factory=list)
    report_ids: Reports = Field(default_factory=list)


class AnswerBody(RequestModel):
    question_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    rating: Annotated[int, Field(ge=RATING_MIN, le=RATING_MAX)] | None = None
    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT),
        HumanText(required=False, multiline=True),
    ] = ""


class AnswersBody(RequestModel):
    answers: list[AnswerBody] = Field(min_length=1, max_length=MAX_TEMPLATE_QUESTIONS)


# --- results -----------------------------------------------------------------------------------
class GroupAggregate(ResponseModel):
    group: str = Field(description='"all" (peers and reports), "peer" or "report"')
    released: bool
    respondents: int
    average: float


class NamedAnswer(ResponseModel):
    relation: str
    rater_id: str
    rating: int | None = None
    text: str


class QuestionResult(ResponseModel):
    question_id: str
    kind: str
    anonymous: bool
    text_zh: str
    text_en: str
    aggregates: list[GroupAggregate]
    comments: list[str]
    named: list[NamedAnswer]


class RoundResults(ResponseModel):
    round_id: str
    subject_id: str
    phase: str
    released: bool
    threshold: int
    respondents: int
    questions: list[QuestionResult]
    viewer_role: str
    closed_at: str
