"""The promotion review's pure rules and data types (``promotion/<case>``).

Shared by the workflow (workflows/promotion.py), its activities (activities/promotions.py),
the feedback service (the conflict-of-interest rule, checked again when a panel is recorded)
and the gateway (Update names and the refusal codes it maps to HTTP). No I/O, no clock.

The conflict of interest (:func:`conflicted`): the candidate, the candidate's own manager and
anyone in the candidate's reporting line (the manager's manager and up) may not sit on the
panel nor score. The validators (``*_error``) answer a refusal code or None; the workflow raises
it as the ApplicationError type, the gateway answers it with :data:`ERROR_STATUS`.

A little over ~400 lines: the payloads, the state and the validators of one workflow, which
the workflow, the activities, the service and the gateway import as one contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from workflows.calendar import WorkCalendar, add_working_days, end_of_day, local_date
from workflows.vocabulary import (
    DEFAULT_PANEL_WORKING_DAYS,
    DEFAULT_PROMOTION_QUORUM,
    DEFAULT_PUBLICITY_WORKING_DAYS,
    MAX_PROMOTION_PANEL,
    OBJECTION_OPEN,
    OBJECTION_OUTCOMES,
    PROMOTION_DECISION,
    PROMOTION_ELIGIBILITY,
    PROMOTION_ENDED,
    PROMOTION_ENDORSEMENT,
    PROMOTION_INVESTIGATION,
    PROMOTION_PANEL,
    PROMOTION_PUBLICITY,
    PROMOTION_SCORE_MAX,
    PROMOTION_SCORE_MIN,
)

# Temporal names (the gateway uses them too).
UPDATE_ENDORSE = "endorse"
UPDATE_SET_PANEL = "set_panel"
UPDATE_SCORE = "score"
UPDATE_OBJECT = "object"
UPDATE_RESOLVE = "resolve_objection"
UPDATE_DECIDE = "decide"
UPDATE_WITHDRAW = "withdraw"
QUERY_STATE = "state"
PEOPLE_ACTIVITY = "promotion_people"
ELIGIBILITY_ACTIVITY = "promotion_eligibility"
RECORD_ACTIVITY = "promotion_record"

# StridePhase values (search attribute): "promotion:<phase>".
PHASE_PREFIX = "promotion:"

# What the record activity records (the feedback service's step kinds, each audited).
STEP_ELIGIBILITY = "eligibility_checked"
STEP_ENDORSED = "endorsed"
STEP_DECLINED = "endorsement_declined"
STEP_PANEL = "panel_named"
STEP_SCORE = "scored"
STEP_PUBLICITY = "publicity_opened"
STEP_OBJECTION = "objection_raised"
STEP_RESOLVED = "objection_resolved"
STEP_DECIDED = "decided"
STEP_WITHDRAWN = "case_withdrawn"
STEP_PHASE = "phase_changed"
STEPS = (
    STEP_ELIGIBILITY,
    STEP_ENDORSED,
    STEP_DECLINED,
    STEP_PANEL,
    STEP_SCORE,
    STEP_PUBLICITY,
    STEP_OBJECTION,
    STEP_RESOLVED,
    STEP_DECIDED,
    STEP_WITHDRAWN,
    STEP_PHASE,
)

# Validator refusals (ApplicationError types).
ERROR_WRONG_PHASE = "promotion_wrong_phase"
ERROR_ENDED = "promotion_ended"
ERROR_BUSY = "promotion_busy"
ERROR_NOT_MANAGER = "promotion_not_the_manager"
ERROR_HR_ONLY = "promotion_hr_only"
ERROR_NOT_MEMBER = "not_a_panel_member"
ERROR_CONFLICT = "conflict_of_interest"
ERROR_ALREADY_SCORED = "already_scored"
ERROR_SCORE_RANGE = "score_out_of_range"
ERROR_PANEL_SIZE = "panel_size"
ERROR_DUPLICATE_MEMBER = "duplicate_panel_member"
ERROR_OWN_CASE = "own_case"
ERROR_REASON_REQUIRED = "reason_required"
ERROR_UNKNOWN_OBJECTION = "objection_not_found"
ERROR_OBJECTION_CLOSED = "objection_closed"
ERROR_BAD_OUTCOME = "invalid_outcome"
ERROR_OPEN_OBJECTIONS = "open_objections"
ERROR_NOT_APPLICANT = "promotion_not_the_applicant"
# The feedback service refused to record a step for good (not an outage).
ERROR_SERVICE_REFUSED = "PromotionServiceRefused"
# An Update whose step the service refused (e.g. a conflict it found in identity).
ERROR_REFUSED = "promotion_refused"

# Refusal → HTTP status (the gateway's problem+json; the code is the refusal).
ERROR_STATUS = {
    ERROR_WRONG_PHASE: 409,
    ERROR_ENDED: 409,
    ERROR_BUSY: 409,
    ERROR_ALREADY_SCORED: 409,
    ERROR_OBJECTION_CLOSED: 409,
    ERROR_OPEN_OBJECTIONS: 409,
    ERROR_REFUSED: 409,
    ERROR_NOT_MANAGER: 403,
    ERROR_HR_ONLY: 403,
    ERROR_NOT_MEMBER: 403,
    ERROR_CONFLICT: 403,
    ERROR_OWN_CASE: 403,
    ERROR_NOT_APPLICANT: 403,
    ERROR_SCORE_RANGE: 422,
    ERROR_PANEL_SIZE: 422,
    ERROR_DUPLICATE_MEMBER: 422,
    ERROR_REASON_REQUIRED: 422,
    ERROR_UNKNOWN_OBJECTION: 404,
    ERROR_BAD_OUTCOME: 422,
}


def search_phase(phase: str) -> str:
    """The StridePhase value of a case's phase."""
    return f"{PHASE_PREFIX}{phase}"


@dataclass
class PromotionInput:
    """What the case's workflow starts with (from the feedback service's PromotionApplied)."""

    case_id: str
    candidate_id: str
    applicant_id: str
    current_grade: str
    target_grade: str
    quorum: int = DEFAULT_PROMOTION_QUORUM
    panel_working_days: int = DEFAULT_PANEL_WORKING_DAYS
    publicity_working_days: int = DEFAULT_PUBLICITY_WORKING_DAYS
    # "" : the organisation's time zone (its calendar policy).
    time_zone: str = ""


# -- Update and activity payloads ------------------------------------------------------------


@dataclass
class Endorse:
    actor_id: str
    endorse: bool
    comment: str = ""


@dataclass
class SetPanel:
    actor_id: str
    member_ids: list[str]
    actor_is_hr: bool = False


@dataclass
class Score:
    actor_id: str
    score: int
    comment: str = ""


@dataclass
class Objection:
    actor_id: str
    reason: str


@dataclass
class ResolveObjection:
    actor_id: str
    number: int
    uphold: bool
    # Upheld: OBJECTION_BACK_TO_PANEL or OBJECTION_REJECT.
    outcome: str = ""
    comment: str = ""
    actor_is_hr: bool = False


@dataclass
class Decide:
    actor_id: str
    approve: bool
    comment: str = ""
    actor_is_hr: bool = False


@dataclass
class Withdraw:
    actor_id: str
    reason: str = ""


@dataclass
class CaseRef:
    case_id: str
    candidate_id: str


@dataclass
class PromotionPeople:
    """The candidate's direct manager ("" none) and reporting line: every manager above the
    candidate, the direct one first."""

    manager_id: str
    reporting_line: list[str] = field(default_factory=list)
    # Who HR is (told to name the panel, of objections and to decide).
    hr_ids: list[str] = field(default_factory=list)


@dataclass
class Eligibility:
    eligible: bool
    reasons: list[str] = field(default_factory=list)


@dataclass
class PromotionStep:
    """One step the feedback service records (and audits) for the case."""

    case_id: str
    step: str
    actor_id: str
    phase: str
    # The workflow's step number: a retried step is recorded once.
    sequence: int = 0
    member_ids: list[str] = field(default_factory=list)
    score: int = 0
    objection: int = 0
    text: str = ""
    outcome: str = ""
    reasons: list[str] = field(default_factory=list)


# -- state -----------------------------------------------------------------------------------


@dataclass
class PanelScore:
    member_id: str
    score: int
    comment: str = ""


@dataclass
class ObjectionState:
    number: int
    # Shown to HR only (the gateway drops it for everyone else).
    author_id: str
    reason: str
    raised_at: str
    status: str = OBJECTION_OPEN
    outcome: str = ""
    comment: str = ""


@dataclass
class PromotionState:
    case_id: str
    candidate_id: str
    applicant_id: str
    current_grade: str
    target_grade: str
    phase: str = PROMOTION_ELIGIBILITY
    manager_id: str = ""
    reasons: list[str] = field(default_factory=list)
    endorsed_by: str = ""
    panel: list[str] = field(default_factory=list)
    # How many times a panel was named (an upheld objection sends the case back to a panel).
    panel_rounds: int = 0
    panel_due: str = ""
    panel_overdue_notified: bool = False
    scores: list[PanelScore] = field(default_factory=list)
    mean_score: float = 0.0
    publicity_start: str = ""
    publicity_end: str = ""
    objections: list[ObjectionState] = field(default_factory=list)
    decided_by: str = ""
    decision_comment: str = ""
    withdrawn_by: str = ""


# -- rules -----------------------------------------------------------------------------------


def conflicted(member_id: str, candidate_id: str, manager_id: str, line: Iterable[str]) -> bool:
    """A member who may not judge the candidate: the candidate, the direct manager, anyone in
    the reporting line."""
    return member_id in {candidate_id, manager_id} or member_id in set(line)


def quorum_of(quorum: int, panel_size: int) -> int:
    """Scores a panel of ``panel_size`` needs: ``quorum``, or every member of a smaller panel."""
    return max(1, min(quorum, panel_size))


def mean(scores: Iterable[PanelScore]) -> float:
    values = [s.score for s in scores]
    return round(sum(values) / len(values), 2) if values else 0.0


def publicity_end(start: datetime, days: int, tz: str, calendar: WorkCalendar) -> datetime:
    """The end of the publicity period opened at ``start``: local midnight after the
    ``days``-th working day following ``start``'s day."""
    return end_of_day(local_date(add_working_days(start, days, tz, calendar), tz), tz)


def open_objections(state: PromotionState) -> list[ObjectionState]:
    return [o for o in state.objections if o.status == OBJECTION_OPEN]


def _ended(state: PromotionState) -> str | None:
    return ERROR_ENDED if state.phase in PROMOTION_ENDED else None


def endorse_error(state: PromotionState, update: Endorse) -> str | None:
    if (error := _ended(state)) is not None:
        return error
    if state.phase != PROMOTION_ENDORSEMENT:
        return ERROR_WRONG_PHASE
    if not state.manager_id or update.actor_id != state.manager_id:
        return ERROR_NOT_MANAGER
    return None


def panel_error(state: PromotionState, line: list[str], update: SetPanel) -> str | None:
    if (error := _ended(state)) is not None:
        return error
    if not update.actor_is_hr:
        return ERROR_HR_ONLY
    if state.phase != PROMOTION_PANEL:
        return ERROR_WRONG_PHASE
    members = update.member_ids
    if not members or len(members) > MAX_PROMOTION_PANEL:
        return ERROR_PANEL_SIZE
    if len(set(members)) != len(members):
        return ERROR_DUPLICATE_MEMBER
    if any(conflicted(m, state.candidate_id, state.manager_id, line) for m in members):
        return ERROR_CONFLICT
    return None


def score_error(state: PromotionState, line: list[str], update: Score) -> str | None:
    if (error := _ended(state)) is not None:
        return error
    if state.phase != PROMOTION_PANEL or not state.panel:
        return ERROR_WRONG_PHASE
    if conflicted(update.actor_id, state.candidate_id, state.manager_id, line):
        return ERROR_CONFLICT
    if update.actor_id not in state.panel:
        return ERROR_NOT_MEMBER
    if any(s.member_id == update.actor_id for s in state.scores):
        return ERROR_ALREADY_SCORED
    if not PROMOTION_SCORE_MIN <= update.score <= PROMOTION_SCORE_MAX:
        return ERROR_SCORE_RANGE
    return None


def object_error(state: PromotionState, update: Objection) -> str | None:
    if (error := _ended(state)) is not None:
        return error
    if state.phase != PROMOTION_PUBLICITY:
        return ERROR_WRONG_PHASE
    if update.actor_id == state.candidate_id:
        return ERROR_OWN_CASE
    if not update.reason.strip():
        return ERROR_REASON_REQUIRED
    return None


def resolve_error(state: PromotionState, update: ResolveObjection) -> str | None:
    if (error := _ended(state)) is not None:
        return error
    if not update.actor_is_hr:
        return ERROR_HR_ONLY
    found = [o for o in state.objections if o.number == update.number]
    if not found:
        return ERROR_UNKNOWN_OBJECTION
    if found[0].status != OBJECTION_OPEN:
        return ERROR_OBJECTION_CLOSED
    if update.uphold and update.outcome not in OBJECTION_OUTCOMES:
        return ERROR_BAD_OUTCOME
    if state.phase not in (PROMOTION_PUBLICITY, PROMOTION_INVESTIGATION):
        return ERROR_WRONG_PHASE
    return None


def decide_error(state: PromotionState, update: Decide) -> str | None:
    if (error := _ended(state)) is not None:
        return error
    if not update.actor_is_hr:
        return ERROR_HR_ONLY
    if state.phase != PROMOTION_DECISION:
        return ERROR_OPEN_OBJECTIONS if open_objections(state) else ERROR_WRONG_PHASE
    return None


def withdraw_error(state: PromotionState, update: Withdraw) -> str | None:
    if (error := _ended(state)) is not None:
        return error
    if update.actor_id not in {state.candidate_id, state.applicant_id}:
        return ERROR_NOT_APPLICANT
    return None
