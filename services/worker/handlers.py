"""What the event bridge does with each kind of event: pure translation to Temporal calls.

:mod:`services.worker.bridge` routes a subject to one of these (its ``ROUTES``) and settles
the message by the outcome: an :class:`Outcome` acks it, :class:`InvalidEvent` terminates it
(it can never be handled), any other exception naks it for a retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common.enums import enum_values
from stride.goals.v1 import goals_pb2
from workflows import calendar, ids, plan_approval
from workflows import cycle as cycle_wf
from workflows.audit import memo
from workflows.calendar import end_of_day, rfc3339
from workflows.kr_escalation import (
    SIGNAL_BLOCKER_RESOLVED_KR,
    SIGNAL_RISK_ASSESSED,
    BlockerRef,
    BlockerResolvedSignal,
    KrEscalationInput,
    KrEscalationWorkflow,
    RiskSignal,
    memo_title,
)
from workflows.vocabulary import DEFAULT_TIME_ZONE, Risk

_RISK_STATUS_NAMES: dict[int, Risk] = {
    number: Risk(name) for name, number in enum_values(Risk, goals_pb2.RiskStatus).items()
}


class Outcome(StrEnum):
    """What the bridge did with one event."""

    # AT_RISK: signal-with-start accepted (escalation started or signalled).
    ESCALATED = "escalated"
    # ON_TRACK: the running escalation was signalled.
    SIGNALLED = "signalled"
    # ON_TRACK but no escalation is running for the key result.
    NO_ESCALATION = "no_escalation"
    # BlockerResolved: the key result's escalation was told / none is running.
    BLOCKER_RESOLVED = "blocker_resolved"
    # BEHIND / NO_DATA / unspecified: nothing to tell Temporal.
    IGNORED = "ignored"
    # ApprovalRequested: signal-with-start of the approval workflow accepted.
    APPROVAL_REQUESTED = "approval_requested"
    # ApprovalRequested for an approval goals says is no longer pending (a redelivered or
    # replayed event): no workflow is started for it.
    APPROVAL_SETTLED = "approval_settled"
    # CycleCreated: cycle/<cycle> started, or it existed already.
    CYCLE_STARTED = "cycle_started"
    CYCLE_EXISTS = "cycle_exists"
    # CycleClosed: cycle/<cycle> was told (a backfill cycle's workflow waits for it), or it
    # has finished already (it closed the cycle itself) or never ran.
    CYCLE_CLOSED = "cycle_closed"
    NO_CYCLE_WORKFLOW = "no_cycle_workflow"
    # RoundStarted: feedback-round/<cycle>/<subject> started, or it existed already.
    ROUND_STARTED = "round_started"
    ROUND_EXISTS = "round_exists"
    PROMOTION_STARTED = "promotion_started"
    PROMOTION_EXISTS = "promotion_exists"


# approval id → whether goals still has it pending (raises when goals cannot tell now).
ApprovalPending = Callable[[str], Awaitable[bool]]


class InvalidEvent(ValueError):
    """The event can never be handled (undecodable or missing what the bridge needs)."""


def cycle_end_utc(end_date: str, time_zone: str) -> str:
    """End of the cycle's last day (``end_date`` inclusive, in ``time_zone``) as RFC 3339 UTC.

    >>> cycle_end_utc("2026-12-31", "Asia/Shanghai")
    '2026-12-31T16:00:00Z'
    """
    _valid_zone(time_zone)
    try:
        last_day = date.fromisoformat(end_date)
    except ValueError as err:
        raise InvalidEvent(f"cycle_end_date is not an ISO date: {end_date!r}") from err
    return rfc3339(end_of_day(last_day, time_zone))


def _risk_signal(event: goals_pb2.CheckInRecorded, status: str) -> RiskSignal:
    return RiskSignal(
        event_id=event.meta.event_id,
        check_in_id=event.check_in.id,
        week=event.check_in.week,
        status=status,
        shortfall=event.check_in.risk.shortfall,
        behind_streak=event.check_in.risk.behind_streak,
        owner_id=event.key_result.owner_id,
        value=event.check_in.value,
        expected_value=event.check_in.risk.expected_value,
        unit=event.key_result.unit,
        department_id=event.key_result.department_id,
        blockers=[
            BlockerRef(id=b.id, department_id=b.department_id)
            for b in event.check_in.blockers
            if b.id and b.department_id
        ],
        time_zone=event.time_zone,
    )


def _require(event: goals_pb2.CheckInRecorded) -> str:
    """Validate what every handled event needs; return the key result id."""
    key_result_id = event.key_result.id or event.check_in.key_result_id
    _missing(
        (
            ("meta.event_id", event.meta.event_id),
            ("key_result.id", key_result_id),
            ("check_in.week", event.check_in.week),
        ),
        "CheckInRecorded",
    )
    return key_result_id


async def handle_check_in_recorded(
    client: Client,
    event: goals_pb2.CheckInRecorded,
    *,
    task_queue: str,
    default_time_zone: str = DEFAULT_TIME_ZONE,
) -> Outcome:
    """Tell Temporal about one decoded ``CheckInRecorded`` event.

    ``default_time_zone`` (the organisation's) applies when the event names none.

    Raises :class:`InvalidEvent` for an event that can never be handled and ``RPCError`` (or
    any other exception) for a failure worth retrying.
    """
    status = _RISK_STATUS_NAMES.get(event.check_in.risk.status)
    # A blocker naming another department makes the key result red whatever its risk.
    blocked = any(
        b.id and b.department_id and b.department_id != event.key_result.department_id
        for b in event.check_in.blockers
    )
    if status not in (Risk.AT_RISK, Risk.ON_TRACK) and not blocked:
        return Outcome.IGNORED
    key_result_id = _require(event)
    signal = _risk_signal(event, status or Risk.NO_DATA)
    if status == Risk.AT_RISK or blocked:
        if not event.cycle_end_date:
            raise InvalidEvent("CheckInRecorded lacks cycle_end_date")
        escalation = KrEscalationInput(
            key_result_id=key_result_id,
            cycle_id=event.cycle_id or event.key_result.cycle_id,
            department_id=event.key_result.department_id,
            cycle_end_utc=cycle_end_utc(event.cycle_end_date, event.time_zone or default_time_zone),
        )
        await client.start_workflow(
            KrEscalationWorkflow.run,
            escalation,
            id=ids.kr_escalation(key_result_id),
            task_queue=task_queue,
            start_signal=SIGNAL_RISK_ASSESSED,
            start_signal_args=[signal],
            memo=memo(memo_title(key_result_id)),
        )
        return Outcome.ESCALATED
    return await _signal_running(client, key_result_id, signal)


def _swept_signal(event: goals_pb2.KeyResultRiskSwept, status: str) -> RiskSignal:
    kr = event.key_result
    return RiskSignal(
        event_id=event.meta.event_id,
        # Not a check-in: the sweep's assessment of a silent week.
        check_in_id="",
        week=event.week,
        status=status,
        shortfall=kr.risk.shortfall,
        behind_streak=kr.risk.behind_streak,
        owner_id=kr.owner_id,
        # The last value, carried forward into the silent week.
        value=kr.current_value,
        expected_value=kr.risk.expected_value,
        unit=kr.unit,
        department_id=kr.department_id,
        time_zone=event.time_zone,
    )


async def handle_risk_swept(
    client: Client,
    event: goals_pb2.KeyResultRiskSwept,
    *,
    task_queue: str,
    default_time_zone: str = DEFAULT_TIME_ZONE,
) -> Outcome:
    """Tell Temporal about the weekly sweep's assessment of a silent key result, as a check-in's:
    ``AT_RISK`` signal-with-starts ``kr-escalation/<kr>``, ``ON_TRACK`` signals the running one
    only, anything else changes nothing (no workflow is started for a key result that is not
    at risk)."""
    status = _RISK_STATUS_NAMES.get(event.key_result.risk.status)
    if status not in (Risk.AT_RISK, Risk.ON_TRACK):
        return Outcome.IGNORED
    key_result_id = event.key_result.id
    _missing(
        (
            ("meta.event_id", event.meta.event_id),
            ("key_result.id", key_result_id),
            ("week", event.week),
        ),
        "KeyResultRiskSwept",
    )
    signal = _swept_signal(event, status)
    if status == Risk.AT_RISK:
        if not event.cycle_end_date:
            raise InvalidEvent("KeyResultRiskSwept lacks cycle_end_date")
        await client.start_workflow(
            KrEscalationWorkflow.run,
            KrEscalationInput(
                key_result_id=key_result_id,
                cycle_id=event.cycle_id or event.key_result.cycle_id,
                department_id=event.key_result.department_id,
                cycle_end_utc=cycle_end_utc(
                    event.cycle_end_date, event.time_zone or default_time_zone
                ),
            ),
            id=ids.kr_escalation(key_result_id),
            task_queue=task_queue,
            start_signal=SIGNAL_RISK_ASSESSED,
            start_signal_args=[signal],
            memo=memo(memo_title(key_result_id)),
        )
        return Outcome.ESCALATED
    return await _signal_running(client, key_result_id, signal)


async def _signal_running(client: Client, key_result_id: str, signal: RiskSignal) -> Outcome:
    handle = client.get_workflow_handle(ids.kr_escalation(key_result_id))
    try:
        await handle.signal(SIGNAL_RISK_ASSESSED, signal)
    except RPCError as err:
        # Never started, or already closed (resolved / cycle ended): nothing to resolve.
        if err.status == RPCStatusCode.NOT_FOUND:
            return Outcome.NO_ESCALATION
        raise
    return Outcome.SIGNALLED


async def handle_blocker_resolved(client: Client, event: goals_pb2.BlockerResolved) -> Outcome:
    """Tell ``kr-escalation/<kr>`` that a department resolved a blocker (it forwards it to its
    open coordination); no escalation running: nothing to tell."""
    b = event.blocker
    _missing(
        (
            ("meta.event_id", event.meta.event_id),
            ("blocker.id", b.id),
            ("blocker.key_result_id", b.key_result_id),
        ),
        "BlockerResolved",
    )
    handle = client.get_workflow_handle(ids.kr_escalation(b.key_result_id))
    try:
        await handle.signal(
            SIGNAL_BLOCKER_RESOLVED_KR,
            BlockerResolvedSignal(event_id=event.meta.event_id, blocker_id=b.id),
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return Outcome.NO_ESCALATION
        raise
    return Outcome.BLOCKER_RESOLVED


_APPROVAL_KINDS = {
    goals_pb2.APPROVAL_KIND_PLAN: plan_approval.KIND_PLAN,
    goals_pb2.APPROVAL_KIND_REVISION: plan_approval.KIND_REVISION,
}


def _missing(fields: tuple[tuple[str, str], ...], what: str) -> None:
    missing = [name for name, value in fields if not value]
    if missing:
        raise InvalidEvent(f"{what} lacks {', '.join(missing)}")


def _valid_zone(time_zone: str) -> str:
    try:
        calendar.zone(time_zone)
    except ValueError as err:
        raise InvalidEvent(str(err)) from err
    return time_zone


def approval_title(event: goals_pb2.ApprovalRequested) -> str:
    """The Temporal memo title: goals' (documented as free of personal data) or ids only."""
    kind = _APPROVAL_KINDS.get(event.approval.kind, "plan")
    return event.title or f"Goal {kind} approval · cycle {event.approval.cycle_id}"


async def handle_approval_requested(
    client: Client,
    event: goals_pb2.ApprovalRequested,
    *,
    task_queue: str,
    default_time_zone: str = DEFAULT_TIME_ZONE,
    still_pending: ApprovalPending | None = None,
) -> Outcome:
    """Signal-with-start the approval workflow of the person and cycle of ``event``.

    With ``still_pending`` (the worker asks goals), an approval that was decided meanwhile is
    not started again: an event redelivered or replayed after its workflow ended would
    otherwise open a new run that reminds and escalates a settled approval.
    """
    a = event.approval
    _missing(
        (
            ("meta.event_id", event.meta.event_id),
            ("approval.id", a.id),
            ("approval.cycle_id", a.cycle_id),
            ("approval.employee_id", a.employee_id),
        ),
        "ApprovalRequested",
    )
    kind = _APPROVAL_KINDS.get(a.kind)
    if kind is None:
        raise InvalidEvent(f"ApprovalRequested has an unknown kind {a.kind}")
    time_zone = _valid_zone(event.time_zone or default_time_zone)
    if still_pending is not None and not await still_pending(a.id):
        return Outcome.APPROVAL_SETTLED
    wid = a.workflow_id or ids.plan_approval(a.cycle_id, a.employee_id)
    await client.start_workflow(
        plan_approval.PlanApprovalWorkflow.run,
        plan_approval.PlanApprovalInput(
            cycle_id=a.cycle_id,
            employee_id=a.employee_id,
            department_id=a.department_id,
            time_zone=time_zone,
        ),
        id=wid,
        task_queue=task_queue,
        start_signal=plan_approval.SIGNAL_APPROVAL_REQUESTED,
        start_signal_args=[
            plan_approval.ApprovalRequest(
                event_id=event.meta.event_id,
                approval_id=a.id,
                kind=kind,
                approver_ids=list(a.approver_ids),
                requested_at=a.created_at or event.meta.occurred_at,
                objective_ids=list(a.objective_ids),
                revision_id=a.revision_id,
            )
        ],
        memo={"title": approval_title(event)},
    )
    return Outcome.APPROVAL_REQUESTED


async def handle_cycle_created(
    client: Client,
    event: goals_pb2.CycleCreated,
    *,
    task_queue: str,
    default_time_zone: str = DEFAULT_TIME_ZONE,
) -> Outcome:
    """Start ``cycle/<cycle>``; one that exists (running or finished) counts as done."""
    c = event.cycle
    _missing(
        (("cycle.id", c.id), ("cycle.start_date", c.start_date), ("cycle.end_date", c.end_date)),
        "CycleCreated",
    )
    cycle_input = cycle_wf.CycleInput(
        cycle_id=c.id,
        start_date=c.start_date,
        end_date=c.end_date,
        time_zone=_valid_zone(c.time_zone or default_time_zone),
        planning_deadline=c.planning_deadline,
        approval_deadline=c.approval_deadline,
        closing_deadline=c.closing_deadline,
        backfill=c.backfill,
    )
    try:
        cycle_wf.calendar_of(cycle_input)
    except ValueError as err:
        raise InvalidEvent(f"CycleCreated has bad dates: {err}") from err
    try:
        await client.start_workflow(
            cycle_wf.CycleWorkflow.run,
            cycle_input,
            id=ids.cycle(c.id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"title": f"OKR cycle {c.id}"},
        )
    except WorkflowAlreadyStartedError:
        return Outcome.CYCLE_EXISTS
    return Outcome.CYCLE_STARTED


async def handle_cycle_closed(client: Client, event: goals_pb2.CycleClosed) -> Outcome:
    """Tell ``cycle/<cycle>`` that goals closed the cycle: a backfill cycle's workflow waits
    for this to finish; any other ignores it."""
    _missing((("cycle.id", event.cycle.id),), "CycleClosed")
    handle = client.get_workflow_handle(ids.cycle(event.cycle.id))
    try:
        await handle.signal(cycle_wf.SIGNAL_CYCLE_CLOSED)
    except RPCError as err:
        # Finished (it closed the cycle itself) or never started: nobody is waiting.
        if err.status == RPCStatusCode.NOT_FOUND:
            return Outcome.NO_CYCLE_WORKFLOW
        raise
    return Outcome.CYCLE_CLOSED
