"""Approval of a person's goals: ``cycle/<cycle>/plan/<employee>``.

Started by the event bridge with signal-with-start when goals emits
``stride.goals.v1.approval.requested`` (a submitted plan, or later a target revision); each
further request for the same person and cycle arrives as the ``approval_requested`` signal,
so one run handles several pending approvals.

- A new approval is announced to its approvers (notification).
- The Update ``decide`` (approve / reject with a comment) is validated first: the approval
  must exist and be pending (not already being decided), and the caller must be one of its
  current approvers or HR (an HR decision is an override). A rejected Update leaves the state
  unchanged and writes nothing. An accepted one calls goals ``DecideApproval`` (which audits
  it) and returns; the main loop then notifies the owner.
- 2 working days (in the cycle's time zone) after the request, the approvers get a
  reminder; after 5 the skip-level manager is added as an approver (goals
  ``EscalateApproval``, manager chain from identity) and notified. Working days follow the
  organisation's holiday calendar (holidays off, adjusted working days on; activity
  ``org_calendar``) in runs with patch ``plan-approval-holidays``, Mon–Fri before it.
- Notifications go through :func:`workflows.delivery.deliver` (quiet hours; patch
  ``notify-channels``).
- The run ends when nothing is pending (after its handlers have finished).

Search attributes: StrideCycle, StrideDepartment, StridePhase (``plan-approval:pending``,
``plan-approval:escalated``, ``plan-approval:done``); the memo (set by the bridge) carries a
title without personal data. The pure rules are :func:`decision_error` and
:func:`approval_deadlines`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import ids
from workflows.calendar import (
    NO_EXCEPTIONS,
    WorkCalendar,
    add_working_days,
    local_date,
    parse_instant,
    rfc3339,
)
from workflows.delivery import service_retry, tell, work_calendar
from workflows.notifications import (
    APPROVAL_DECIDED,
    APPROVAL_ESCALATED,
    APPROVAL_REMINDER,
    APPROVAL_REQUESTED,
)
from workflows.search_attributes import STRIDE_CYCLE, STRIDE_DEPARTMENT, STRIDE_PHASE
from workflows.vocabulary import DEFAULT_TIME_ZONE, ApprovalStatus

SIGNAL_APPROVAL_REQUESTED = "approval_requested"
UPDATE_DECIDE = "decide"
QUERY_STATE = "state"
DECIDE_ACTIVITY = "approval_decide"
ESCALATE_ACTIVITY = "approval_escalate"

REMIND_AFTER_WORKING_DAYS = 2
ESCALATE_AFTER_WORKING_DAYS = 5
# workflow.patched id: reminders and escalations count working days on the org calendar.
PATCH_HOLIDAYS = "plan-approval-holidays"
# How far ahead of a request the calendar is read (5 working days fit in it with room for
# the longest Chinese holiday week).
CALENDAR_WINDOW = timedelta(days=40)

PHASE_PENDING = "plan-approval:pending"
PHASE_ESCALATED = "plan-approval:escalated"
PHASE_DONE = "plan-approval:done"

KIND_PLAN = "plan"
KIND_REVISION = "revision"

# An approval item's status: goals' approval statuses, plus deciding.
STATUS_PENDING = ApprovalStatus.PENDING
# An accepted Update is applying the decision (another decision is refused meanwhile).
STATUS_DECIDING = "deciding"
STATUS_APPROVED = ApprovalStatus.APPROVED
STATUS_REJECTED = ApprovalStatus.REJECTED
OPEN_STATUSES = frozenset({STATUS_PENDING, STATUS_DECIDING})

APPROVE = "approve"
REJECT = "reject"
DECISIONS = {APPROVE: STATUS_APPROVED, REJECT: STATUS_REJECTED}

# Validator rejections (ApplicationError types; the gateway maps them to HTTP).
ERROR_NOT_FOUND = "approval_not_found"
ERROR_NOT_APPROVER = "not_an_approver"
ERROR_NOT_PENDING = "approval_not_pending"
# Four eyes: nobody decides on their own plan or revision, not even HR or an admin (another
# HR person, or the manager and skip-level manager the approval names, decide).
ERROR_OWN_APPROVAL = "own_approval"
ERROR_INVALID_DECISION = "invalid_decision"
# goals refused the decision (e.g. decided meanwhile through another path).
ERROR_REFUSED = "decision_refused"

ACTIVITY_RETRY = service_retry(ERROR_REFUSED)
# A decision is awaited by a person at the other end of an HTTP request: give up sooner.
DECIDE_RETRY = replace(ACTIVITY_RETRY, maximum_attempts=4)


@dataclass
class PlanApprovalInput:
    cycle_id: str
    employee_id: str
    department_id: str = ""
    # The cycle's time zone: working days and reminders follow its calendar.
    time_zone: str = DEFAULT_TIME_ZONE


@dataclass
class ApprovalRequest:
    """The ``approval_requested`` signal (from a goals ApprovalRequested event)."""

    event_id: str
    approval_id: str
    # "plan" | "revision"
    kind: str
    approver_ids: list[str]
    # RFC 3339 instant the approval was created (the working-day clock starts here).
    requested_at: str
    objective_ids: list[str] = field(default_factory=list)
    revision_id: str = ""


@dataclass
class ApprovalItem:
    approval_id: str
    kind: str
    approver_ids: list[str]
    requested_at: str
    remind_at: str
    escalate_at: str
    status: str = STATUS_PENDING
    objective_ids: list[str] = field(default_factory=list)
    revision_id: str = ""
    announced: bool = False
    reminded: bool = False
    escalated: bool = False
    decision: str = ""
    decided_by: str = ""
    comment: str = ""
    overridden: bool = False
    # The owner has been told about the decision.
    decision_announced: bool = False
    # remind_at / escalate_at count working days on the organisation's calendar (holidays,
    # adjusted working days), not only Mon–Fri (runs with patch PATCH_HOLIDAYS).
    on_calendar: bool = False


@dataclass
class DecisionInput:
    """The ``decide`` Update: who decides what (set by the gateway from the caller)."""

    approval_id: str
    # "approve" | "reject"
    decision: str
    actor_id: str
    actor_is_hr: bool = False
    comment: str = ""


@dataclass
class DecideActivityInput:
    approval_id: str
    decision: str
    decided_by: str
    comment: str = ""
    override: bool = False


@dataclass
class EscalateActivityInput:
    approval_id: str
    employee_id: str


@dataclass
class EscalateResult:
    # The approval's approvers after the escalation; added: the new ones (skip-level).
    approver_ids: list[str]
    added: list[str] = field(default_factory=list)


@dataclass
class PlanApprovalState:
    cycle_id: str
    employee_id: str
    phase: str = PHASE_PENDING
    approvals: list[ApprovalItem] = field(default_factory=list)


def approval_deadlines(
    requested_at: datetime, time_zone: str, calendar: WorkCalendar = NO_EXCEPTIONS
) -> tuple[datetime, datetime]:
    """(reminder, escalation) instants: 2 and 5 working days (on ``calendar``) after the
    request."""
    return (
        add_working_days(requested_at, REMIND_AFTER_WORKING_DAYS, time_zone, calendar),
        add_working_days(requested_at, ESCALATE_AFTER_WORKING_DAYS, time_zone, calendar),
    )


def decision_error(
    item: ApprovalItem | None, decision: DecisionInput, subject: str = ""
) -> str | None:
    """Why ``decision`` must be refused (an error code), or None when it may go ahead.

    Only an actor among the approval's current approvers, or HR (override), may decide, never
    on their own plan or revision (``subject``: whose it is), and only a pending approval that
    no other decision is being applied to.
    """
    if decision.decision not in DECISIONS:
        return ERROR_INVALID_DECISION
    if item is None:
        return ERROR_NOT_FOUND
    if subject and decision.actor_id == subject:
        return ERROR_OWN_APPROVAL
    if decision.actor_id not in item.approver_ids and not decision.actor_is_hr:
        return ERROR_NOT_APPROVER
    if item.status != STATUS_PENDING:
        return ERROR_NOT_PENDING
    return None


def _copy(item: ApprovalItem) -> ApprovalItem:
    return replace(
        item, approver_ids=list(item.approver_ids), objective_ids=list(item.objective_ids)
    )


@workflow.defn
class PlanApprovalWorkflow:
    @workflow.init
    def __init__(self, input: PlanApprovalInput) -> None:
        self._input = input
        self._id = ids.plan_approval(input.cycle_id, input.employee_id)
        self._items: dict[str, ApprovalItem] = {}
        self._seen_events: set[str] = set()
        self._phase = PHASE_PENDING
        # Bumped whenever something the main loop waits on changes.
        self._version = 0

    @workflow.run
    async def run(self, input: PlanApprovalInput) -> PlanApprovalState:
        self._id = workflow.info().workflow_id
        workflow.upsert_search_attributes(
            [
                STRIDE_CYCLE.value_set(input.cycle_id),
                STRIDE_DEPARTMENT.value_set(input.department_id or "none"),
                STRIDE_PHASE.value_set(self._phase),
            ]
        )
        while self._open() or self._unannounced_decisions():
            # Taken before the steps: a change while they run (a new request, a decision)
            # ends the wait below at once.
            version = self._version
            await self._apply_calendar()
            await self._announce_and_chase()
            if not self._open():
                if self._unannounced_decisions():
                    continue
                break
            await self._wait_for_change(version, self._next_due())
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._set_phase(PHASE_DONE)
        return self.state()

    async def _wait_for_change(self, version: int, due: datetime | None) -> None:
        """Until something changes, or until ``due`` (the next reminder or escalation)."""
        if due is None:
            await workflow.wait_condition(lambda: self._version != version)
            return
        wait = due - workflow.now()
        if wait <= timedelta(0):
            return
        try:
            await workflow.wait_condition(
                lambda: self._version != version,
                timeout=wait,
                timeout_summary="approval reminder / escalation",
            )
        except TimeoutError:
            pass

    # -- handlers ----------------------------------------------------------------------------

    @workflow.signal(name=SIGNAL_APPROVAL_REQUESTED)
    def approval_requested(self, request: ApprovalRequest) -> None:
        if request.event_id in self._seen_events or request.approval_id in self._items:
            return
        self._seen_events.add(request.event_id)
        try:
            requested = parse_instant(request.requested_at)
        except ValueError:
            requested = workflow.now()
        remind, escalate = approval_deadlines(requested, self._input.time_zone)
        self._items[request.approval_id] = ApprovalItem(
            approval_id=request.approval_id,
            kind=request.kind,
            approver_ids=list(request.approver_ids),
            requested_at=rfc3339(requested),
            remind_at=rfc3339(remind),
            escalate_at=rfc3339(escalate),
            objective_ids=list(request.objective_ids),
            revision_id=request.revision_id,
        )
        self._version += 1

    @workflow.update(name=UPDATE_DECIDE)
    async def decide(self, decision: DecisionInput) -> ApprovalItem:
        item = self._items[decision.approval_id]
        item.status = STATUS_DECIDING
        override = decision.actor_id not in item.approver_ids
        try:
            await workflow.execute_activity(
                DECIDE_ACTIVITY,
                DecideActivityInput(
                    approval_id=item.approval_id,
                    decision=decision.decision,
                    decided_by=decision.actor_id,
                    comment=decision.comment,
                    override=override,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DECIDE_RETRY,
                summary=f"{decision.decision} {item.kind}",
            )
        except ActivityError as err:
            item.status = STATUS_PENDING
            self._version += 1
            cause = err.__cause__
            message = cause.message if isinstance(cause, ApplicationError) else str(err)
            raise ApplicationError(
                f"the decision was not recorded: {message}", type=ERROR_REFUSED
            ) from err
        item.status = DECISIONS[decision.decision]
        item.decision = decision.decision
        item.decided_by = decision.actor_id
        item.comment = decision.comment
        item.overridden = override
        # The owner is told by the main loop: the person deciding does not wait for it.
        self._version += 1
        return _copy(item)

    @decide.validator
    def validate_decide(self, decision: DecisionInput) -> None:
        error = decision_error(
            self._items.get(decision.approval_id), decision, self._input.employee_id
        )
        if error is not None:
            raise ApplicationError(f"decision refused: {error}", type=error, non_retryable=True)

    @workflow.query(name=QUERY_STATE)
    def state(self) -> PlanApprovalState:
        return PlanApprovalState(
            cycle_id=self._input.cycle_id,
            employee_id=self._input.employee_id,
            phase=self._phase,
            approvals=[_copy(i) for i in self._items.values()],
        )

    # -- steps -------------------------------------------------------------------------------

    def _open(self) -> bool:
        return any(i.status in OPEN_STATUSES for i in self._items.values())

    def _unannounced_decisions(self) -> bool:
        return any(i.decision and not i.decision_announced for i in self._items.values())

    def _next_due(self) -> datetime | None:
        due: list[datetime] = []
        for item in self._items.values():
            if item.status != STATUS_PENDING:
                continue
            if not item.reminded:
                due.append(parse_instant(item.remind_at))
            if not item.escalated:
                due.append(parse_instant(item.escalate_at))
        return min(due) if due else None

    async def _apply_calendar(self) -> None:
        """Recount the reminder and escalation of new approvals on the organisation's calendar
        (holidays are not working days; adjusted working days are)."""
        items = [
            i for i in self._items.values() if i.status == STATUS_PENDING and not i.on_calendar
        ]
        if not items or not workflow.patched(PATCH_HOLIDAYS):
            return
        tz = self._input.time_zone
        days = [local_date(parse_instant(i.requested_at), tz) for i in items]
        calendar = await work_calendar(min(days), max(days) + CALENDAR_WINDOW)
        for item in items:
            remind, escalate = approval_deadlines(parse_instant(item.requested_at), tz, calendar)
            item.remind_at, item.escalate_at = rfc3339(remind), rfc3339(escalate)
            item.on_calendar = True

    async def _announce_and_chase(self) -> None:
        """Announce new approvals and decisions; send the reminders and escalations due."""
        for item in list(self._items.values()):
            if item.decision and not item.decision_announced:
                item.decision_announced = True
                await self._notify(
                    f"decided/{item.approval_id}",
                    APPROVAL_DECIDED,
                    [self._input.employee_id],
                    {
                        "approval_id": item.approval_id,
                        "kind": item.kind,
                        "decision": item.decision,
                        "comment": item.comment,
                        "cycle_id": self._input.cycle_id,
                    },
                )
            if item.status != STATUS_PENDING:
                continue
            params = {
                "approval_id": item.approval_id,
                "kind": item.kind,
                "cycle_id": self._input.cycle_id,
                "employee_id": self._input.employee_id,
            }
            now = workflow.now()
            if not item.announced:
                item.announced = True
                await self._notify(
                    f"requested/{item.approval_id}", APPROVAL_REQUESTED, item.approver_ids, params
                )
            if not item.reminded and now >= parse_instant(item.remind_at):
                item.reminded = True
                await self._notify(
                    f"reminder/{item.approval_id}", APPROVAL_REMINDER, item.approver_ids, params
                )
            if not item.escalated and now >= parse_instant(item.escalate_at):
                item.escalated = True
                await self._escalate(item, params)

    async def _escalate(self, item: ApprovalItem, params: dict[str, str]) -> None:
        result: EscalateResult = await workflow.execute_activity(
            ESCALATE_ACTIVITY,
            EscalateActivityInput(item.approval_id, self._input.employee_id),
            result_type=EscalateResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=ACTIVITY_RETRY,
            summary="add the skip-level manager",
        )
        if item.status == STATUS_PENDING:
            item.approver_ids = list(result.approver_ids)
        self._set_phase(PHASE_ESCALATED)
        if result.added:
            await self._notify(
                f"escalated/{item.approval_id}", APPROVAL_ESCALATED, result.added, params
            )

    async def _notify(
        self, step: str, template: str, recipients: list[str], params: dict[str, str]
    ) -> None:
        await tell(self._id, step, template, recipients, params, retry_policy=ACTIVITY_RETRY)

    def _set_phase(self, phase: str) -> None:
        if phase != self._phase:
            self._phase = phase
            workflow.upsert_search_attributes([STRIDE_PHASE.value_set(phase)])
