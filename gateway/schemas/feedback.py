"""Bodies of the feedback routes: /feedback, /praise, /badges, /me/upward-feedback, challenges
and /feedback/settings (the rules: services/feedback/domain, docs/feedback.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from pydantic import Field, StringConstraints

from gateway.schemas.common import (
    HumanText,
    Id,
    Name,
    OptionalId,
    RequestModel,
    ResponseModel,
)
from gateway.schemas.words import one_of
from workflows import vocabulary as v

if TYPE_CHECKING:
    SubjectKind: TypeAlias = str
    SubjectKindFilter: TypeAlias = str
    FeedbackVisibility: TypeAlias = str
    FeedbackBox: TypeAlias = str
    AskBox: TypeAlias = str
    AskStatusFilter: TypeAlias = str
    ChallengeStatusFilter: TypeAlias = str
    PraiseTag: TypeAlias = str
else:
    SubjectKind = one_of(v.SUBJECT_PERSON, v.SUBJECT_OBJECTIVE, v.SUBJECT_KEY_RESULT)
    SubjectKindFilter = one_of("", v.SUBJECT_PERSON, v.SUBJECT_OBJECTIVE, v.SUBJECT_KEY_RESULT)
    FeedbackVisibility = one_of(v.VISIBILITY_PRIVATE, v.VISIBILITY_PRAISE)
    # Which of the caller's feedback a list shows (services/feedback/handlers/feedback.py).
    FeedbackBox = one_of("received", "given", "reports")
    AskBox = one_of("asked", "mine")
    AskStatusFilter = one_of("", v.ASK_OPEN, v.ASK_ANSWERED, v.ASK_DECLINED)
    ChallengeStatusFilter = one_of("", v.CHALLENGE_OPEN, v.CHALLENGE_ANSWERED, v.CHALLENGE_RESOLVED)
    PraiseTag = one_of(*v.PRAISE_TAGS)

FeedbackText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=v.MAX_FEEDBACK_TEXT),
    HumanText(multiline=True),
]
OptionalText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=v.MAX_FEEDBACK_TEXT),
    HumanText(required=False, multiline=True),
]


class FeedbackGive(RequestModel):
    """Feedback about a person (default), an objective or a key result. Praise carries a
    badge and is seen by the person's department; private feedback by the person, and by
    their manager when ``share_with_manager``. With ``request_id`` it answers that request
    (its subject is the request's)."""

    subject_kind: SubjectKind = v.SUBJECT_PERSON
    subject_id: OptionalId = ""
    visibility: FeedbackVisibility = v.VISIBILITY_PRIVATE
    share_with_manager: bool = False
    badge_id: OptionalId = ""
    text: FeedbackText
    request_id: OptionalId = ""
    tags: Annotated[list[PraiseTag], Field(max_length=v.MAX_PRAISE_TAGS)] = Field(
        default_factory=list,
        description="praise only: what it recognises (improvement counts towards talent tags)",
    )


class Feedback(ResponseModel):
    id: str
    subject_kind: str
    subject_id: str
    about_id: str = Field(description="the person it is about (the goal's owner for goals)")
    author_id: str
    visibility: str
    share_with_manager: bool
    badge_id: str
    text: str
    request_id: str
    created_at: str
    week: str = Field(description="ISO week in the organisation's time zone")
    about_department_id: str
    tags: list[str] = Field(default_factory=list)


class FeedbackPage(ResponseModel):
    items: list[Feedback]
    next_page_token: str = ""


class FeedbackAskCreate(RequestModel):
    """Ask ``responder_id`` for feedback about oneself (default) or one's own objective or
    key result; it goes to their inbox."""

    responder_id: Id
    subject_kind: SubjectKind = v.SUBJECT_PERSON
    subject_id: OptionalId = ""
    message: OptionalText = ""


class FeedbackAsk(ResponseModel):
    id: str
    requester_id: str
    responder_id: str
    subject_kind: str
    subject_id: str
    message: str
    status: str
    feedback_id: str
    created_at: str
    closed_at: str


class FeedbackAskPage(ResponseModel):
    items: list[FeedbackAsk]
    next_page_token: str = ""


class BadgePut(RequestModel):
    name_zh: Name
    name_en: Name
    description: OptionalText = ""
    active: bool = True


class Badge(ResponseModel):
    id: str
    code: str
    name_zh: str
    name_en: str
    description: str
    active: bool
    created_at: str


class BadgeList(ResponseModel):
    badges: list[Badge]


class UpwardGive(RequestModel):
    """To one's own direct manager. Anonymous items reach them only as an aggregate, once
    enough colleagues wrote anonymously this quarter."""

    text: FeedbackText
    anonymous: bool = False


class UpwardReceipt(ResponseModel):
    manager_id: str
    period: str
    anonymous: bool


class NamedUpward(ResponseModel):
    id: str
    author_id: str
    text: str
    created_at: str


class AnonymousAggregate(ResponseModel):
    released: bool
    threshold: int
    items: int
    authors: int
    texts: list[str] = Field(description="no authors, no times, in no particular order")


class UpwardSummary(ResponseModel):
    manager_id: str
    period: str
    named: list[NamedUpward]
    anonymous: AnonymousAggregate | None


class ChallengeRaise(RequestModel):
    text: FeedbackText


class ChallengeAnswer(RequestModel):
    text: FeedbackText
    accepted: bool = Field(
        default=False, description="the owner accepts the challenge (the goal will change)"
    )


class ChallengeResolve(RequestModel):
    text: OptionalText = ""


class ChallengeMessage(ResponseModel):
    author_id: str
    text: str
    created_at: str
    kind: str


class Challenge(ResponseModel):
    id: str
    objective_id: str
    owner_id: str
    challenger_id: str
    status: str
    messages: list[ChallengeMessage]
    created_at: str
    closed_at: str
    accepted: bool = False


class ChallengePage(ResponseModel):
    items: list[Challenge]
    next_page_token: str = ""


class FrequencyRow(ResponseModel):
    department_id: str
    week: str
    feedback: int
    praise: int
    upward: int
    challenges: int
    total: int


class Frequency(ResponseModel):
    rows: list[FrequencyRow]


class SettingsUpdate(RequestModel):
    anonymity_threshold: Annotated[
        int,
        Field(
            strict=True,
            # Below the minimum reaches the service, which names the rule in its refusal.
            ge=-(2**31),
            le=v.MAX_ANONYMITY_THRESHOLD,
            description=f"at least {v.MIN_ANONYMITY_THRESHOLD} (422 threshold_below_minimum), "
            f"at most {v.MAX_ANONYMITY_THRESHOLD}",
        ),
    ]


class Settings(ResponseModel):
    anonymity_threshold: int
    updated_at: str
