"""A cross-department coordination meeting for a red key result: ``coordination/<kr>/<n>``.

Started as a child of ``kr-escalation/<kr>`` when the escalation turns red (a check-in blocker
naming another department, or a third lagging week). It

1. finds the participants: the key result's owner, the owner's direct manager and, when a
   blocker named a department, that department's head (identity, through activities);
2. invites them once (template ``coordination.invited``: inbox item + e-mail with an ``.ics``
   ``METHOD:REQUEST`` invitation) to a 30-minute meeting at 10:00 organisation time on the next
   working day (:func:`meeting_start`); the iCalendar UID is this run's, so a retried
   activity re-sends the same event rather than a second one;
3. takes the meeting's outcome and a follow-up date through the ``record_outcome`` Update
   (validator: a non-empty outcome, an ISO follow-up date not in the past; refused once
   resolved);
4. reminds the participants once per follow-up date that passes unresolved (template
   ``coordination.reminder``, at 09:00 organisation time the day after it; a durable timer);
5. resolves when every blocker it was started for is resolved (signal ``blocker_resolved``,
   forwarded by the escalation from goals' ``blocker.resolved``), or when the escalation
   closes it (signal ``close``: back on track, or the cycle ended).

Deliveries are idempotent per step and recipient (``<workflow id>/<step>/<recipient>``; the
steps are ``invitation/<week>`` and ``reminder/<follow-up date>``). Rules are the pure
functions below; the workflow keeps state and waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.calendar import (
    NO_EXCEPTIONS,
    WorkCalendar,
    add_working_days,
    local_date,
    local_instant,
    rfc3339,
    zone,
)
from workflows.delivery import deliver_later_if_quiet, work_calendar
from workflows.escalation_notices import (
    DEPARTMENT_HEAD_ACTIVITY,
    RECIPIENTS_ACTIVITY,
    ROLE_BLOCKING_HEAD,
    ROLE_MANAGER,
    ROLE_OWNER,
    RUNG_INVITATION,
    RUNG_REMINDER,
    DepartmentHead,
    DepartmentHeadInput,
    Recipients,
    RecipientsInput,
    Told,
)
from workflows.notifications import (
    COORDINATION_INVITED,
    COORDINATION_REMINDER,
    Invitation,
    NotifyRequest,
    Outgoing,
    delivery_key,
    step_key,
)
from workflows.search_attributes import (
    STRIDE_CYCLE,
    STRIDE_DEPARTMENT,
    STRIDE_PHASE,
    STRIDE_RISK_LEVEL,
)
from workflows.vocabulary import DEFAULT_TIME_ZONE, parse_day

PHASE = "coordination"
UPDATE_RECORD_OUTCOME = "record_outcome"
SIGNAL_BLOCKER_RESOLVED = "blocker_resolved"
SIGNAL_BLOCKERS_ADDED = "blockers_added"
SIGNAL_CLOSE = "close"

REASON_BLOCKER = "blocker"
REASON_LAGGING = "lagging"

STATUS_OPEN = "open"
STATUS_RESOLVED = "resolved"
RESOLVED_BLOCKERS = "blockers_resolved"
RESOLVED_BACK_ON_TRACK = "back_on_track"
RESOLVED_CYCLE_ENDED = "cycle_ended"

# Refusals of the record_outcome Update (ApplicationError types; the gateway maps them).
ERROR_CLOSED = "CoordinationClosed"
ERROR_INVALID_OUTCOME = "InvalidOutcome"
ERROR_INVALID_FOLLOW_UP = "InvalidFollowUp"

MEETING_AT = time(10, 0)
MEETING_MINUTES = 30
# workflow.patched id: the meeting day follows the organisation's holiday calendar.
PATCH_CALENDAR = "coordination-calendar"
# How far ahead the calendar is read for the meeting (the longest Chinese holiday week fits).
CALENDAR_WINDOW = timedelta(days=21)
REMINDER_AT = time(9, 0)
MAX_OUTCOME_TEXT = 2000

ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["NotificationRefused", "EscalationRecipientsRefused"],
)


@dataclass
class CoordinationInput:
    key_result_id: str
    cycle_id: str
    # n in coordination/<kr>/<n> (1 for the escalation run's first).
    number: int
    owner_id: str
    # The key result's department.
    department_id: str
    # "blocker" | "lagging"
    reason: str
    # ISO week of the check-in that turned the key result red.
    week: str
    # The department a blocker named ("" when red came from lagging weeks) and the blockers.
    blocker_department_id: str = ""
    blocker_ids: list[str] = field(default_factory=list)
    time_zone: str = DEFAULT_TIME_ZONE


@dataclass
class Participant:
    employee_id: str
    # "owner" | "manager" | "blocking_head"
    role: str


@dataclass
class OutcomeInput:
    outcome: str
    # ISO date (organisation time) by which the participants check again.
    follow_up: str
    # Employee id of who records it (set by the gateway from the caller).
    by: str = ""


@dataclass
class OutcomeRecord:
    outcome: str
    follow_up: str
    by: str
    # RFC 3339 UTC.
    at: str


@dataclass
class BlockerSignal:
    blocker_id: str


@dataclass
class BlockersAdded:
    blocker_ids: list[str] = field(default_factory=list)


@dataclass
class CloseSignal:
    # "back_on_track" | "cycle_ended"
    reason: str


@dataclass
class CoordinationState:
    key_result_id: str
    number: int
    reason: str
    status: str = STATUS_OPEN
    # Why it resolved: "blockers_resolved" | "back_on_track" | "cycle_ended"; "" while open.
    resolution: str = ""
    blocker_department_id: str = ""
    participants: list[Participant] = field(default_factory=list)
    # RFC 3339 UTC start and end of the meeting; the iCalendar UID of its invitation.
    meeting_start: str = ""
    meeting_end: str = ""
    uid: str = ""
    open_blockers: list[str] = field(default_factory=list)
    resolved_blockers: list[str] = field(default_factory=list)
    outcomes: list[OutcomeRecord] = field(default_factory=list)
    # The latest follow-up date (ISO) and the dates whose reminder went out.
    follow_up: str = ""
    reminded: list[str] = field(default_factory=list)
    told: list[Told] = field(default_factory=list)


# -- pure rules --------------------------------------------------------------------------------


def meeting_start(now: datetime, tz: str, calendar: WorkCalendar = NO_EXCEPTIONS) -> datetime:
    """10:00 organisation time on the next working day after ``now`` (on ``calendar``: the
    organisation's holidays and adjusted working days; Mon–Fri without it): time for the
    three people to clear their calendars, and within office hours."""
    return add_working_days(local_instant(local_date(now, tz), MEETING_AT, tz), 1, tz, calendar)


def reminder_due(follow_up: date, tz: str) -> datetime:
    """When a passed follow-up date is reminded: 09:00 organisation time the day after it."""
    return local_instant(follow_up + timedelta(days=1), REMINDER_AT, tz)


def outcome_error(state: CoordinationState, outcome: OutcomeInput, today: date) -> str | None:
    """Why an outcome cannot be recorded (an error type), or None."""
    if state.status != STATUS_OPEN:
        return ERROR_CLOSED
    text = outcome.outcome.strip()
    if not text or len(text) > MAX_OUTCOME_TEXT:
        return ERROR_INVALID_OUTCOME
    day = parse_day(outcome.follow_up.strip())
    if day is None or day < today:
        return ERROR_INVALID_FOLLOW_UP
    return None


def participants_of(owner_id: str, manager_id: str, head_id: str) -> list[Participant]:
    """Owner, direct manager, blocking department's head; each person once, first role wins."""
    out: list[Participant] = []
    for person, role in (
        (owner_id, ROLE_OWNER),
        (manager_id, ROLE_MANAGER),
        (head_id, ROLE_BLOCKING_HEAD),
    ):
        if person and all(p.employee_id != person for p in out):
            out.append(Participant(person, role))
    return out


_ERROR_TEXT = {
    ERROR_CLOSED: "the coordination is resolved",
    ERROR_INVALID_OUTCOME: f"outcome must be 1..{MAX_OUTCOME_TEXT} characters",
    ERROR_INVALID_FOLLOW_UP: "follow_up must be an ISO date (YYYY-MM-DD), today or later",
}


@workflow.defn
class CoordinationWorkflow:
    @workflow.init
    def __init__(self, input: CoordinationInput) -> None:
        self._input = input
        self._state = CoordinationState(
            key_result_id=input.key_result_id,
            number=input.number,
            reason=input.reason,
            blocker_department_id=input.blocker_department_id,
            open_blockers=list(dict.fromkeys(input.blocker_ids)),
        )
        # Bumped by every handler so the run loop re-plans its timers.
        self._changes = 0

    @workflow.run
    async def run(self, input: CoordinationInput) -> CoordinationState:
        tz = input.time_zone or DEFAULT_TIME_ZONE
        try:
            zone(tz)
        except ValueError as err:
            raise ApplicationError(str(err), type="InvalidInput", non_retryable=True) from err
        workflow.upsert_search_attributes(
            [
                STRIDE_CYCLE.value_set(input.cycle_id),
                STRIDE_DEPARTMENT.value_set(input.department_id),
                STRIDE_PHASE.value_set(PHASE),
                STRIDE_RISK_LEVEL.value_set("red"),
            ]
        )
        calendar = NO_EXCEPTIONS
        if workflow.patched(PATCH_CALENDAR):
            today = local_date(workflow.now(), tz)
            calendar = await work_calendar(today, today + CALENDAR_WINDOW)
        start = meeting_start(workflow.now(), tz, calendar)
        self._state.meeting_start = rfc3339(start)
        self._state.meeting_end = rfc3339(start + timedelta(minutes=MEETING_MINUTES))
        self._state.uid = f"{workflow.info().workflow_id}/{workflow.info().run_id}@stride"
        self._state.participants = await self._participants()
        if self._state.status == STATUS_OPEN:
            await self._invite(tz)
        while self._state.status == STATUS_OPEN:
            due = self._next_reminder(tz)
            timeout = None if due is None else max(due - workflow.now(), timedelta(0))
            try:
                await workflow.wait_condition(
                    self._woken(self._changes),
                    timeout=timeout,
                    timeout_summary="follow-up date passed",
                )
            except TimeoutError:
                await self._remind(tz)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    def _woken(self, seen: int) -> Callable[[], bool]:
        """Resolved, or a handler changed something since ``seen`` (re-plan the timers)."""
        return lambda: self._state.status != STATUS_OPEN or self._changes != seen

    async def _participants(self) -> list[Participant]:
        i = self._input
        try:
            recipients = await workflow.execute_activity(
                RECIPIENTS_ACTIVITY,
                RecipientsInput(owner_id=i.owner_id),
                result_type=Recipients,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=ACTIVITY_RETRY,
                summary="owner's manager",
            )
            manager = recipients.manager_id
        except ActivityError as err:
            workflow.logger.warning("manager not found (%s)", err.cause)
            manager = ""
        head = ""
        if i.blocker_department_id:
            try:
                found = await workflow.execute_activity(
                    DEPARTMENT_HEAD_ACTIVITY,
                    DepartmentHeadInput(department_id=i.blocker_department_id),
                    result_type=DepartmentHead,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=ACTIVITY_RETRY,
                    summary="blocking department's head",
                )
                head = found.head_id
            except ActivityError as err:
                workflow.logger.warning("department head not found (%s)", err.cause)
        return participants_of(i.owner_id, manager, head)

    def _params(self, role: str, tz: str) -> dict[str, str]:
        start = datetime.fromisoformat(self._state.meeting_start).astimezone(zone(tz))
        return {
            "key_result_id": self._input.key_result_id,
            "cycle_id": self._input.cycle_id,
            "week": self._input.week,
            "role": role,
            "reason": self._input.reason,
            "blocking_department_id": self._input.blocker_department_id,
            "meeting": start.strftime("%Y-%m-%d %H:%M"),
            "time_zone": tz,
            "minutes": str(MEETING_MINUTES),
            "follow_up": self._state.follow_up,
        }

    async def _invite(self, tz: str) -> None:
        people = self._state.participants
        invitation = Invitation(
            uid=self._state.uid,
            start_utc=self._state.meeting_start,
            minutes=MEETING_MINUTES,
            summary=f"Stride coordination: key result {self._input.key_result_id}",
            attendee_ids=[p.employee_id for p in people],
            description=f"/key-results/{self._input.key_result_id}",
        )
        step = f"{RUNG_INVITATION}/{self._input.week}"
        await self._tell(step, RUNG_INVITATION, COORDINATION_INVITED, tz, invitation)

    def _next_reminder(self, tz: str) -> datetime | None:
        day = parse_day(self._state.follow_up)
        if day is None or self._state.follow_up in self._state.reminded:
            return None
        return reminder_due(day, tz)

    async def _remind(self, tz: str) -> None:
        follow_up = self._state.follow_up
        if not follow_up or follow_up in self._state.reminded:
            return
        self._state.reminded.append(follow_up)
        await self._tell(f"{RUNG_REMINDER}/{follow_up}", RUNG_REMINDER, COORDINATION_REMINDER, tz)

    async def _tell(
        self, step: str, rung: str, template: str, tz: str, invitation: Invitation | None = None
    ) -> None:
        people = self._state.participants
        if not people:
            return
        key = step_key(workflow.info().workflow_id, step)
        at = rfc3339(workflow.now())
        try:
            await deliver_later_if_quiet(
                NotifyRequest(
                    key=key,
                    template=template,
                    messages=[Outgoing(p.employee_id, self._params(p.role, tz)) for p in people],
                    invitation=invitation,
                ),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=ACTIVITY_RETRY,
                summary=f"{template} to {len(people)} participants",
            )
        except ActivityError as err:
            workflow.logger.warning("%s not sent (%s)", template, err.cause)
            return
        self._state.told.extend(
            Told(rung, p.employee_id, p.role, at, delivery_key(key, p.employee_id)) for p in people
        )

    def _resolve(self, resolution: str) -> None:
        if self._state.status == STATUS_OPEN:
            self._state.status = STATUS_RESOLVED
            self._state.resolution = resolution
        self._changes += 1

    @workflow.update(name=UPDATE_RECORD_OUTCOME)
    def record_outcome(self, outcome: OutcomeInput) -> CoordinationState:
        self._state.outcomes.append(
            OutcomeRecord(
                outcome=outcome.outcome.strip(),
                follow_up=outcome.follow_up.strip(),
                by=outcome.by,
                at=rfc3339(workflow.now()),
            )
        )
        self._state.follow_up = outcome.follow_up.strip()
        self._changes += 1
        return self.state()

    @record_outcome.validator
    def _check_outcome(self, outcome: OutcomeInput) -> None:
        tz = self._input.time_zone or DEFAULT_TIME_ZONE
        error = outcome_error(self._state, outcome, local_date(workflow.now(), tz))
        if error is not None:
            raise ApplicationError(_ERROR_TEXT[error], type=error, non_retryable=True)

    @workflow.signal(name=SIGNAL_BLOCKER_RESOLVED)
    def blocker_resolved(self, signal: BlockerSignal) -> None:
        if signal.blocker_id not in self._state.open_blockers:
            return
        self._state.open_blockers.remove(signal.blocker_id)
        self._state.resolved_blockers.append(signal.blocker_id)
        self._changes += 1
        if not self._state.open_blockers:
            self._resolve(RESOLVED_BLOCKERS)

    @workflow.signal(name=SIGNAL_BLOCKERS_ADDED)
    def blockers_added(self, signal: BlockersAdded) -> None:
        for blocker_id in signal.blocker_ids:
            known = self._state.open_blockers + self._state.resolved_blockers
            if self._state.status == STATUS_OPEN and blocker_id not in known:
                self._state.open_blockers.append(blocker_id)
        self._changes += 1

    @workflow.signal(name=SIGNAL_CLOSE)
    def close(self, signal: CloseSignal) -> None:
        self._resolve(signal.reason)

    @workflow.query(name="state")
    def state(self) -> CoordinationState:
        s = self._state
        return replace(
            s,
            participants=[replace(p) for p in s.participants],
            open_blockers=list(s.open_blockers),
            resolved_blockers=list(s.resolved_blockers),
            outcomes=[replace(o) for o in s.outcomes],
            reminded=list(s.reminded),
            told=[replace(t) for t in s.told],
        )
