"""The 360 feedback round's pure rules and data types (``feedback-round/<cycle>/<subject>``).

Shared by the workflow (workflows/feedback_round.py), its activities
(activities/feedback_rounds.py) and the gateway (which applies :func:`approval_error` before
executing the Update, and maps its codes to HTTP). No I/O, no clock: callers pass the
organisation's calendar and time zone.

When things happen (:func:`round_times`, :func:`rater_reminders`), all on the organisation's
calendar (working days skip holidays and count adjusted working days):

- the subject's nomination reminder: 09:00 local on the last working day on or before
  ``nominations_due``;
- the manager is asked to approve the list at 09:00 on the first working day after
  ``nominations_due``, and reminded :data:`APPROVAL_REMINDER_WORKING_DAYS` working days later;
- raters who have not answered are reminded at 09:00 every
  :data:`RATER_REMINDER_WORKING_DAYS` working days after the invitation (at most
  :data:`MAX_RATER_REMINDERS`), before the deadline;
- the round closes at the end of ``deadline`` (local midnight after it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from workflows.calendar import (
    WorkCalendar,
    add_working_days,
    end_of_day,
    is_working_day,
    local_date,
    local_instant,
    next_working_day_at,
    rfc3339,
)
from workflows.vocabulary import MAX_ROUND_RATERS, ROUND_NOMINATING

# Temporal names (the gateway and the bridge use them too).
UPDATE_APPROVE = "approve_nominations"
SIGNAL_CANCEL = "cancel"
QUERY_STATE = "state"
APPROVE_ACTIVITY = "feedback_round_approve"
MARK_INVITED_ACTIVITY = "feedback_round_mark_invited"
PENDING_RATERS_ACTIVITY = "feedback_round_pending_raters"
CLOSE_ACTIVITY = "feedback_round_close"
CANCEL_ACTIVITY = "feedback_round_cancel"
# The cycle workflow asks the feedback service to start a cycle's rounds (RoundService
# StartRounds) at closing, when its input says so.
START_ROUNDS_ACTIVITY = "feedback_start_rounds"

# Local wall-clock time of every reminder and of asking the manager.
REMIND_AT = time(9, 0)
APPROVAL_REMINDER_WORKING_DAYS = 2
RATER_REMINDER_WORKING_DAYS = 2
MAX_RATER_REMINDERS = 5

# StridePhase values (search attribute): "feedback-round:<phase>".
PHASE_PREFIX = "feedback-round:"

# Validator refusals (ApplicationError types; the gateway maps them to HTTP).
ERROR_OWN_ROUND = "own_round"
ERROR_NOT_MANAGER = "not_the_manager"
ERROR_NOT_NOMINATING = "round_not_nominating"
ERROR_NO_RATERS = "no_raters"
ERROR_DUPLICATE_RATER = "duplicate_rater"
ERROR_TOO_MANY_RATERS = "too_many_raters"
# The feedback service refused to approve the list (e.g. a rater it does not know).
ERROR_REFUSED = "nominations_refused"
# An activity the feedback service refused for good (not an outage).
ERROR_SERVICE_REFUSED = "RoundServiceRefused"


def search_phase(phase: str) -> str:
    """The StridePhase value of a round's phase."""
    return f"{PHASE_PREFIX}{phase}"


@dataclass
class RoundInput:
    """What the bridge starts a round's workflow with (from RoundStarted)."""

    round_id: str
    cycle_id: str
    subject_id: str
    manager_id: str
    # ISO dates in the organisation's time zone.
    nominations_due: str
    deadline: str
    # "" : the organisation's time zone (its calendar policy).
    time_zone: str = ""


@dataclass
class ApproveNominationsInput:
    """The ``approve_nominations`` Update (the gateway sets the actor from the caller)."""

    actor_id: str
    rater_ids: list[str]
    actor_is_hr: bool = False


@dataclass
class CancelRound:
    """The ``cancel`` signal."""

    actor_id: str = ""
    reason: str = ""


@dataclass
class RoundState:
    round_id: str
    cycle_id: str
    subject_id: str
    manager_id: str
    phase: str = ROUND_NOMINATING
    # The approved raters (ids), once approved.
    rater_ids: list[str] = field(default_factory=list)
    approved_by: str = ""
    # RFC 3339 instants ("" until they happened / are known).
    close_at: str = ""
    invited_at: str = ""
    closed_at: str = ""
    nomination_reminded: bool = False
    manager_asked: bool = False
    manager_reminded: bool = False
    # Rater reminders sent, and how many raters each reached.
    reminders: list[int] = field(default_factory=list)
    results_announced: bool = False
    cancelled_by: str = ""


# -- activity inputs and outputs -------------------------------------------------------------


@dataclass
class ApproveActivityInput:
    round_id: str
    approver_id: str
    rater_ids: list[str]


@dataclass
class MarkInvitedInput:
    round_id: str
    rater_ids: list[str]


@dataclass
class RoundRef:
    round_id: str


@dataclass
class RoundView:
    """What the workflow needs of a Round the feedback service returned."""

    round_id: str
    phase: str
    # Raters on the approved list (approved, invited, answered or declined).
    rater_ids: list[str] = field(default_factory=list)
    closed_at: str = ""


@dataclass
class RoundsAtClosing:
    """A cycle's 360 rounds, started when it enters closing (CycleInput.feedback_rounds)."""

    template_id: str
    # "" : the whole organisation.
    department_id: str = ""
    # Nominations are due this many days after the cycle's last day, answers this many days
    # after that.
    nomination_days: int = 3
    answer_days: int = 10


@dataclass
class StartRoundsInput:
    cycle_id: str
    template_id: str
    department_id: str
    # ISO dates in the organisation's time zone.
    nominations_due: str
    deadline: str


@dataclass
class StartRoundsResult:
    started: int = 0
    already: int = 0


def rounds_at_closing(plan: RoundsAtClosing, cycle_end: date) -> StartRoundsInput:
    """The dates of the rounds a cycle starts at closing (``cycle_id`` left to the caller)."""
    due = cycle_end + timedelta(days=max(plan.nomination_days, 1))
    deadline = due + timedelta(days=max(plan.answer_days, 1))
    return StartRoundsInput(
        cycle_id="",
        template_id=plan.template_id,
        department_id=plan.department_id,
        nominations_due=due.isoformat(),
        deadline=deadline.isoformat(),
    )


@dataclass
class PendingRaters:
    employee_ids: list[str] = field(default_factory=list)


# -- rules -----------------------------------------------------------------------------------


def approval_error(
    phase: str, approving: bool, subject_id: str, manager_id: str, update: ApproveNominationsInput
) -> str | None:
    """Why ``update`` must be refused (an error code), or None when it may go ahead.

    Only the subject's manager or HR, never the subject (not even an HR subject), approves,
    only while the round is nominating and no other approval is being applied, and only a
    non-empty list of distinct raters (the subject at most once, as self) of at most
    :data:`MAX_ROUND_RATERS`.
    """
    if update.actor_id == subject_id:
        return ERROR_OWN_ROUND
    if not update.actor_is_hr and (not manager_id or update.actor_id != manager_id):
        return ERROR_NOT_MANAGER
    if phase != ROUND_NOMINATING or approving:
        return ERROR_NOT_NOMINATING
    if not update.rater_ids or any(not r.strip() for r in update.rater_ids):
        return ERROR_NO_RATERS
    if len(set(update.rater_ids)) != len(update.rater_ids):
        return ERROR_DUPLICATE_RATER
    if len(update.rater_ids) > MAX_ROUND_RATERS:
        return ERROR_TOO_MANY_RATERS
    return None


def last_working_day(day: date, calendar: WorkCalendar) -> date:
    """``day`` when it is a working day, else the working day before it."""
    for _ in range(366):
        if is_working_day(day, calendar):
            return day
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True)
class RoundTimes:
    nomination_reminder: datetime
    ask_manager: datetime
    remind_manager: datetime
    close: datetime


def round_times(
    nominations_due: date, deadline: date, tz: str, calendar: WorkCalendar
) -> RoundTimes:
    """When the round's reminders fall and when it closes (module doc)."""
    ask = next_working_day_at(
        local_instant(nominations_due + timedelta(days=1), REMIND_AT, tz), tz, calendar
    )
    return RoundTimes(
        nomination_reminder=local_instant(
            last_working_day(nominations_due, calendar), REMIND_AT, tz
        ),
        ask_manager=ask,
        remind_manager=add_working_days(ask, APPROVAL_REMINDER_WORKING_DAYS, tz, calendar),
        close=end_of_day(deadline, tz),
    )


def rater_reminders(
    invited_at: datetime, close_at: datetime, tz: str, calendar: WorkCalendar
) -> list[str]:
    """The rater reminders' instants (RFC 3339): 09:00 local every
    :data:`RATER_REMINDER_WORKING_DAYS` working days after the invitation, before the close."""
    out: list[str] = []
    at = local_instant(local_date(invited_at, tz), REMIND_AT, tz)
    while len(out) < MAX_RATER_REMINDERS:
        at = add_working_days(at, RATER_REMINDER_WORKING_DAYS, tz, calendar)
        if at >= close_at:
            break
        out.append(rfc3339(at))
    return out
