"""Escalation of an at-risk key result: ``kr-escalation/<key_result_id>``.

Started by the event bridge with signal-with-start when a check-in turns the key result
at risk; every further check-in result arrives as the ``risk_assessed`` signal.

- A signal whose ``event_id`` was seen before is ignored (NATS redelivers at least once).
- Each ``at_risk`` signal for an ISO week not yet counted raises the level by one
  (1 warning → 2 red → 3 coordination; runs before patch ``kr-escalation-ladder`` go on to
  4 skip_level → 5 hr, capped at 5); a re-submitted check-in of a week already counted does
  not.
- ``on_track`` resolves the escalation (status ``resolved``); ``behind`` and ``no_data``
  change nothing.
- A durable timer to the end of the cycle ends it (status ``cycle_ended``).

The rules are the pure :func:`apply_risk_signal`; the workflow only keeps state, dedupes
events, publishes search attributes and waits.

Notifications (patch ``kr-escalation-notify``, :mod:`workflows.escalation_notices`): on
reaching *warning* the owner and the owner's direct manager get one inbox item and one
e-mail each with the numbers of the check-in that raised it; when it resolves (back on
track) the same people are told once. The ``state`` query lists who was told and when
(``told``). The cycle end closes the escalation silently. Runs started before the patch, and
signals without an ``owner_id`` (sent by an older bridge), notify nobody.

Red (patch ``kr-escalation-red``, :mod:`workflows.coordination`): a check-in blocker naming a
department other than the key result's turns the escalation red at once (level 2; the
bridge signal-with-starts it for such a check-in whatever its risk), as does a third lagging
week. Each such blocker is told to the head of the department it names (template
``blocker.raised``, once per blocker id). On red the escalation starts the child
``coordination/<kr>/<n>`` (owner, manager and the blocking department's head are invited);
later blockers are forwarded to the open coordination (signal ``blockers_added``), and goals'
``blocker.resolved`` reaches it through this workflow's ``blocker_resolved`` signal. A new
blocker after a coordination resolved starts the next one (n + 1). When the escalation closes
(back on track, cycle end) it closes its open coordination and waits for it.

The ladder (patch ``kr-escalation-ladder``, :mod:`workflows.ladder`): red for N working days
on the organisation's calendar (default 3) without a check-in of a new week tells the owner's
manager's manager (level 4 skip_level, template ``kr.skip_level``); a further M working days
(default 5) tell HR with recommended training courses (level 5 hr, ``kr.hr``). Both are durable
timers computed with ``add_working_days`` over the org calendar; a check-in of a new week
restarts the count. Back on track tells everyone told (owner, manager, skip-level manager,
HR) once.

Every level change and the close are recorded in the audit trail (actor
``workflow:kr-escalation/<kr>``) through the ``record_decision`` activity; runs started before
that existed (patch ``kr-escalation-audit``) keep their old commands. The starter sets the memo
``title`` ("KR escalation <kr>").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ChildWorkflowHandle

from workflows import ids
from workflows.audit import Decision, record_decision
from workflows.calendar import WorkCalendar, add_working_days, local_date, rfc3339
from workflows.coordination import (
    REASON_BLOCKER,
    REASON_LAGGING,
    RESOLVED_BACK_ON_TRACK,
    RESOLVED_CYCLE_ENDED,
    SIGNAL_BLOCKER_RESOLVED,
    SIGNAL_BLOCKERS_ADDED,
    SIGNAL_CLOSE,
    BlockersAdded,
    BlockerSignal,
    CloseSignal,
    CoordinationInput,
    CoordinationWorkflow,
)
from workflows.delivery import deliver, deliver_later_if_quiet, org_calendar
from workflows.escalation_notices import (
    DEPARTMENT_HEAD_ACTIVITY,
    RECIPIENTS_ACTIVITY,
    ROLE_BLOCKING_HEAD,
    ROLE_MANAGER,
    ROLE_OWNER,
    RUNG_BLOCKER,
    RUNG_RECOVERED,
    RUNG_WARNING,
    DepartmentHead,
    DepartmentHeadInput,
    Recipients,
    RecipientsInput,
    Told,
    notice_params,
)
from workflows.ladder import (
    HR_NOTICE_ACTIVITY,
    LADDER_POLICY_ACTIVITY,
    ROLE_HR,
    ROLE_SKIP_LEVEL,
    RUNG_HR,
    RUNG_SKIP_LEVEL,
    SKIP_LEVEL_ACTIVITY,
    HrNotice,
    HrNoticeInput,
    LadderPolicy,
    SkipLevel,
    SkipLevelInput,
    courses_text,
)
from workflows.notifications import (
    BLOCKER_RAISED,
    KR_HR,
    KR_RECOVERED,
    KR_SKIP_LEVEL,
    KR_WARNING,
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
from workflows.vocabulary import DEFAULT_TIME_ZONE, INVALID_INPUT_ERROR, RISK_STATUSES, Risk

SIGNAL_RISK_ASSESSED = "risk_assessed"
PHASE = "escalation"
# workflow.patched id: runs that record their decisions in the audit trail.
PATCH_AUDIT = "kr-escalation-audit"
# workflow.patched id: runs that tell the owner and the manager (warning, back on track).
PATCH_NOTIFY = "kr-escalation-notify"
# workflow.patched id: runs that turn red on blockers, tell blocking heads and coordinate.
PATCH_RED = "kr-escalation-red"
# workflow.patched id: runs that climb to skip_level and hr by time on the org calendar and
# tell everyone told when back on track (workflows/ladder.py).
PATCH_LADDER = "kr-escalation-ladder"
# What the ladder waits for next ("" before red; LADDER_DONE after hr).
LADDER_DONE = "done"
# Calendar days of the org calendar read for one working-day count (ample for any count
# a setting allows plus a holiday week).
CALENDAR_SPAN_DAYS = 120
SIGNAL_BLOCKER_RESOLVED_KR = SIGNAL_BLOCKER_RESOLVED
ACTION_LEVEL_CHANGED = "worker.kr_escalation.level_changed"
ACTION_CLOSED = "worker.kr_escalation.closed"
# Identity or the SMTP server down is retried with back-off (a notice is never dropped for an
# outage); a refusal (a bug) is not, and is logged without failing the escalation.
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["NotificationRefused", "EscalationRecipientsRefused"],
)

# The ladder's settings are the worker's own (no I/O): a worker that cannot answer (an older
# one without the activity) is not waited for; the defaults apply.
LADDER_POLICY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=5), maximum_attempts=3
)

LEVEL_NAMES: tuple[str, ...] = ("none", "warning", "red", "coordination", "skip_level", "hr")
MAX_LEVEL = len(LEVEL_NAMES) - 1
RED_LEVEL = 2
COORDINATION_LEVEL = 3
SKIP_LEVEL_LEVEL = 4
HR_LEVEL = 5

STATUS_ACTIVE = "active"
STATUS_RESOLVED = "resolved"
STATUS_CYCLE_ENDED = "cycle_ended"


def memo_title(key_result_id: str) -> str:
    """The Temporal UI title of an escalation (ids only)."""
    return f"KR escalation {key_result_id}"


def level_decision(before: EscalationState, after: EscalationState, signal: RiskSignal) -> Decision:
    """The audit entry of a level change (a level is reached at most once per run)."""
    return Decision(
        step=f"level-{after.level}",
        action=ACTION_LEVEL_CHANGED,
        resource_type="key_result",
        resource_id=after.key_result_id,
        detail=f"level {before.level_name} -> {after.level_name} "
        f"({_cause(signal)} in {signal.week}, check-in {signal.check_in_id})",
    )


def _cause(signal: RiskSignal) -> str:
    """Why a signal raised the level, for the audit trail."""
    blockers = red_blockers(signal)
    if blockers and signal.status != Risk.AT_RISK:
        return f"blocker for department {blockers[0].department_id}"
    return "at risk"


def ladder_decision(
    before: EscalationState, after: EscalationState, days: int, since: str
) -> Decision:
    """The audit entry of a level reached by time (skip_level, hr)."""
    return Decision(
        step=f"level-{after.level}",
        action=ACTION_LEVEL_CHANGED,
        resource_type="key_result",
        resource_id=after.key_result_id,
        detail=f"level {before.level_name} -> {after.level_name} "
        f"(red for {days} working days without a new check-in since {since})",
    )


def closed_decision(state: EscalationState) -> Decision:
    return Decision(
        step="closed",
        action=ACTION_CLOSED,
        resource_type="key_result",
        resource_id=state.key_result_id,
        detail=f"{state.status} at level {state.level_name}",
    )


@dataclass
class KrEscalationInput:
    key_result_id: str
    cycle_id: str
    department_id: str
    # RFC 3339 UTC instant at which the cycle ends (end of its last day in its time zone).
    cycle_end_utc: str


@dataclass
class BlockerRef:
    """A check-in blocker addressed to a department (goals' blocker id; no text)."""

    id: str
    department_id: str


@dataclass
class BlockerResolvedSignal:
    # Id of the blocker.resolved event (dedupe key) and the blocker.
    event_id: str
    blocker_id: str


@dataclass
class RiskSignal:
    # Id of the event that carried the assessment (dedupe key).
    event_id: str
    check_in_id: str
    # ISO week of the check-in, e.g. "2026-W48".
    week: str
    # "at_risk" | "behind" | "on_track" | "no_data"
    status: str
    shortfall: float = 0.0
    behind_streak: int = 0
    # For the notifications (older bridges sent none of these: nobody is told).
    owner_id: str = ""
    # The checked-in value, what the plan expected by the end of the week, and the unit.
    value: float = 0.0
    expected_value: float = 0.0
    unit: str = ""
    # The key result's department, the check-in's blockers addressed to departments, and the
    # cycle's time zone (older bridges sent none: no blocker ever turns the escalation red).
    department_id: str = ""
    blockers: list[BlockerRef] = field(default_factory=list)
    time_zone: str = ""


@dataclass
class EscalationState:
    key_result_id: str
    # 0 none, 1 warning, 2 red, 3 coordination, 4 skip_level, 5 hr
    level: int = 0
    level_name: str = LEVEL_NAMES[0]
    # "active" | "resolved" | "cycle_ended"
    status: str = STATUS_ACTIVE
    # Weeks whose at-risk check-in raised the level, in the order they were counted.
    at_risk_weeks: list[str] = field(default_factory=list)
    # Who was told what and when (runs with patch ``kr-escalation-notify``).
    told: list[Told] = field(default_factory=list)
    # Ids of the coordination workflows started (runs with patch ``kr-escalation-red``), the
    # last one is the open or latest.
    coordinations: list[str] = field(default_factory=list)


def level_name(level: int) -> str:
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"escalation level must be 0..{MAX_LEVEL}, got {level}")
    return LEVEL_NAMES[level]


def red_blockers(signal: RiskSignal) -> list[BlockerRef]:
    """The signal's blockers that name a department other than the key result's: each needs
    another department, which makes the key result red at once."""
    own = signal.department_id
    return [b for b in signal.blockers if b.department_id and b.department_id != own]


def apply_risk_signal(
    state: EscalationState, signal: RiskSignal, *, week_cap: int = MAX_LEVEL
) -> EscalationState:
    """The escalation state after one (not yet seen) risk signal. Pure; never mutates ``state``.

    A closed escalation does not change. ``on_track`` resolves it, unless the check-in names a
    blocker of another department. ``at_risk`` in a week not counted yet raises the level by
    one (capped at ``week_cap``, :data:`MAX_LEVEL` by default; runs with the ladder pass
    :data:`COORDINATION_LEVEL`, skip_level and hr being reached by time, never lowering a
    level already reached) and counts the week; a blocker naming another department
    (:func:`red_blockers`) raises it to at least red. Everything else (a week already counted,
    ``behind``, ``no_data``, an unknown status) leaves it as it is.
    """
    if state.status != STATUS_ACTIVE:
        return state
    blocked = bool(red_blockers(signal))
    if signal.status == Risk.ON_TRACK and not blocked:
        return replace(state, status=STATUS_RESOLVED, at_risk_weeks=list(state.at_risk_weeks))
    level, weeks = state.level, list(state.at_risk_weeks)
    if signal.status == Risk.AT_RISK and signal.week not in weeks:
        level = max(level, min(level + 1, week_cap, MAX_LEVEL))
        weeks.append(signal.week)
    if blocked:
        level = max(level, RED_LEVEL)
    if level == state.level and weeks == state.at_risk_weeks:
        return state
    return replace(state, level=level, level_name=level_name(level), at_risk_weeks=weeks)


def parse_utc(value: str) -> datetime:
    """Parse an RFC 3339 timestamp with an offset (``Z`` accepted)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp needs a UTC offset: {value!r}")
    return parsed


@workflow.defn
class KrEscalationWorkflow:
    @workflow.init
    def __init__(self, input: KrEscalationInput) -> None:
        # Set up before any handler runs: with signal-with-start the first signal is handled
        # in the same activation as the start, before ``run`` begins.
        self._state = EscalationState(key_result_id=input.key_result_id)
        self._seen_events: set[str] = set()
        # Decisions not yet recorded in the audit trail (only used by patched runs).
        self._decisions: list[Decision] = []
        self._input = input
        # The signal that raised the level to warning (not told yet), and the one that
        # resolved the escalation; the people told about the warning.
        self._warning: RiskSignal | None = None
        self._recovery: RiskSignal | None = None
        self._recipients: Recipients | None = None
        # Red (patch kr-escalation-red): the signal that turned it red (not acted on yet),
        # blockers of other departments not told yet, blocker ids seen and resolved, events
        # for the open coordination, and that coordination.
        self._red: RiskSignal | None = None
        self._new_blockers: list[tuple[BlockerRef, RiskSignal]] = []
        self._blockers_seen: set[str] = set()
        self._blockers_resolved: list[str] = []
        self._forward: list[str] = []
        self._coordination: ChildWorkflowHandle[Any, Any] | None = None
        self._coordination_done = True
        # The ladder (patch kr-escalation-ladder): on in patched runs; the owner and the latest
        # check-in (for the notices' numbers); weeks seen; what comes next, counted from
        # ``_ladder_anchor`` (red, the latest new check-in, or the skip-level notice), due at
        # ``_ladder_due`` (None while it is to be computed: ``_ladder_stale``).
        self._ladder = False
        self._latest: RiskSignal | None = None
        self._weeks_seen: set[str] = set()
        self._ladder_next = ""
        self._ladder_anchor: datetime | None = None
        self._ladder_due: datetime | None = None
        self._ladder_stale = False
        self._ladder_tz = DEFAULT_TIME_ZONE
        self._policy: LadderPolicy | None = None

    @workflow.run
    async def run(self, input: KrEscalationInput) -> EscalationState:
        audited = workflow.patched(PATCH_AUDIT)
        workflow.upsert_search_attributes(
            [
                STRIDE_CYCLE.value_set(input.cycle_id),
                STRIDE_DEPARTMENT.value_set(input.department_id),
                STRIDE_PHASE.value_set(PHASE),
                STRIDE_RISK_LEVEL.value_set(self._state.level_name),
            ]
        )
        try:
            cycle_end = parse_utc(input.cycle_end_utc)
        except ValueError as err:
            # Fail the run (not the task, which would retry forever): the input cannot change.
            raise ApplicationError(str(err), type=INVALID_INPUT_ERROR, non_retryable=True) from err
        if audited:
            self._ladder = workflow.patched(PATCH_LADDER)
            if self._ladder:
                self._cap_early_levels()
            self._start_ladder()
            await self._run_audited(cycle_end)
            return self.state()
        remaining = cycle_end - workflow.now()
        if self._state.status == STATUS_ACTIVE:
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._state.status != STATUS_ACTIVE,
                        timeout=remaining,
                        timeout_summary="cycle end",
                    )
                except TimeoutError:
                    self._state = replace(self._state, status=STATUS_CYCLE_ENDED)
            else:
                self._state = replace(self._state, status=STATUS_CYCLE_ENDED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.logger.info(
            "escalation closed", extra={"status": self._state.status, "level": self._state.level}
        )
        return self.state()

    async def _run_audited(self, cycle_end: datetime) -> None:
        """Like the original run, and records each decision as it happens."""
        while self._state.status == STATUS_ACTIVE:
            await self._record_pending()
            await self._tell_warning()
            await self._go_red()
            await self._climb()
            now = workflow.now()
            remaining = cycle_end - now
            if remaining <= timedelta(0):
                self._state = replace(self._state, status=STATUS_CYCLE_ENDED)
                break
            timeout, summary = remaining, "cycle end"
            due = self._ladder_due
            if due is not None and due - now < remaining:
                timeout, summary = due - now, f"{self._ladder_next} due {rfc3339(due)}"
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._state.status != STATUS_ACTIVE
                        or bool(self._decisions)
                        or self._red_pending()
                        or self._ladder_stale
                    ),
                    timeout=timeout,
                    timeout_summary=summary,
                )
            except TimeoutError:
                if workflow.now() >= cycle_end:
                    self._state = replace(self._state, status=STATUS_CYCLE_ENDED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._decisions.append(closed_decision(self._state))
        await self._record_pending()
        await self._close_coordination()
        await self._tell_recovery()
        workflow.logger.info(
            "escalation closed", extra={"status": self._state.status, "level": self._state.level}
        )

    def _red_pending(self) -> bool:
        return self._red is not None or bool(self._new_blockers) or bool(self._forward)

    async def _go_red(self) -> None:
        """Act on red: tell blocking heads, start or feed the coordination (patched runs)."""
        red, self._red = self._red, None
        blockers, self._new_blockers = self._new_blockers, []
        forward, self._forward = self._forward, []
        if red is None and not blockers and not forward:
            return
        if not workflow.patched(PATCH_RED):
            return
        for blocker, signal in blockers:
            await self._tell_blocker(blocker, signal)
        self._coordination_done = self._coordination_done or (
            self._coordination is not None and self._coordination.done()
        )
        open_coordination = self._coordination if not self._coordination_done else None
        fresh = [b for b, _ in blockers if b.id not in self._blockers_resolved]
        if open_coordination is not None:
            # The coordination may have finished meanwhile (its blockers resolved): a signal
            # it can no longer take is logged, not a failure of the escalation.
            try:
                if fresh:
                    await open_coordination.signal(
                        SIGNAL_BLOCKERS_ADDED, BlockersAdded([b.id for b in fresh])
                    )
                for blocker_id in forward:
                    await open_coordination.signal(
                        SIGNAL_BLOCKER_RESOLVED, BlockerSignal(blocker_id)
                    )
            except Exception as err:
                workflow.logger.warning("coordination not signalled (%s)", err)
            return
        # Nobody to invite without the owner (signals of an older bridge).
        if fresh and blockers[0][1].owner_id:
            await self._start_coordination(blockers[0][1], fresh)
        elif red is not None and red.owner_id and not self._state.coordinations:
            await self._start_coordination(red, [])

    async def _start_coordination(self, signal: RiskSignal, blockers: list[BlockerRef]) -> None:
        number = len(self._state.coordinations) + 1
        department = blockers[0].department_id if blockers else ""
        coordination_id = ids.coordination(self._state.key_result_id, number)
        self._coordination = await workflow.start_child_workflow(
            CoordinationWorkflow.run,
            CoordinationInput(
                key_result_id=self._state.key_result_id,
                cycle_id=self._input.cycle_id,
                number=number,
                owner_id=signal.owner_id,
                department_id=self._input.department_id,
                reason=REASON_BLOCKER if blockers else REASON_LAGGING,
                week=signal.week,
                blocker_department_id=department,
                blocker_ids=[b.id for b in blockers if b.department_id == department],
                time_zone=signal.time_zone or DEFAULT_TIME_ZONE,
            ),
            id=coordination_id,
            memo={"title": f"Coordination {number} of key result {self._state.key_result_id}"},
        )
        self._coordination_done = False
        self._state.coordinations.append(coordination_id)

    async def _close_coordination(self) -> None:
        """Close the open coordination with the escalation and wait for it to finish."""
        child = self._coordination
        if child is None or self._coordination_done:
            return
        reason = (
            RESOLVED_BACK_ON_TRACK
            if self._state.status == STATUS_RESOLVED
            else RESOLVED_CYCLE_ENDED
        )
        try:
            if not child.done():
                await child.signal(SIGNAL_CLOSE, CloseSignal(reason))
            await child
        except Exception as err:  # a failed child must not keep the escalation open
            workflow.logger.warning("coordination did not close cleanly (%s)", err)
        self._coordination_done = True

    async def _tell_blocker(self, blocker: BlockerRef, signal: RiskSignal) -> None:
        """Tell the head of the department a blocker names (once per blocker id)."""
        try:
            found = await workflow.execute_activity(
                DEPARTMENT_HEAD_ACTIVITY,
                DepartmentHeadInput(department_id=blocker.department_id),
                result_type=DepartmentHead,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=NOTIFY_RETRY,
                summary="blocking department's head",
            )
        except ActivityError as err:
            workflow.logger.warning("department head not found (%s)", err.cause)
            return
        if not found.head_id:
            return
        step = step_key(workflow.info().workflow_id, f"{RUNG_BLOCKER}/{blocker.id}")
        params = {
            "key_result_id": self._state.key_result_id,
            "cycle_id": self._input.cycle_id,
            "week": signal.week,
            "department_id": blocker.department_id,
            "blocker_id": blocker.id,
            "role": ROLE_BLOCKING_HEAD,
        }
        at = rfc3339(workflow.now())
        try:
            await deliver_later_if_quiet(
                NotifyRequest(
                    key=step, template=BLOCKER_RAISED, messages=[Outgoing(found.head_id, params)]
                ),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=NOTIFY_RETRY,
                summary=f"{BLOCKER_RAISED} to the department's head",
            )
        except ActivityError as err:
            workflow.logger.warning("%s not sent (%s)", BLOCKER_RAISED, err.cause)
            return
        self._state.told.append(
            Told(
                RUNG_BLOCKER,
                found.head_id,
                ROLE_BLOCKING_HEAD,
                at,
                delivery_key(step, found.head_id),
            )
        )

    async def _record_pending(self) -> None:
        while self._decisions:
            await record_decision(self._decisions.pop(0))

    async def _tell_warning(self) -> None:
        """Tell the owner and the manager that the key result reached warning (once)."""
        signal, self._warning = self._warning, None
        if signal is None or not signal.owner_id or not workflow.patched(PATCH_NOTIFY):
            return
        try:
            self._recipients = await workflow.execute_activity(
                RECIPIENTS_ACTIVITY,
                RecipientsInput(owner_id=signal.owner_id),
                result_type=Recipients,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=NOTIFY_RETRY,
                summary="owner's manager",
            )
        except ActivityError as err:
            workflow.logger.warning("manager not found, telling the owner only (%s)", err.cause)
            self._recipients = Recipients(owner_id=signal.owner_id)
        await self._tell(RUNG_WARNING, KR_WARNING, signal)

    async def _tell_recovery(self) -> None:
        """Tell the people told about the warning that the key result is back on track (with
        the ladder: everyone told on the way up, once each)."""
        signal = self._recovery
        if signal is None or self._state.status != STATUS_RESOLVED:
            return
        if self._ladder:
            people: list[tuple[str, str]] = []
            for t in self._state.told:
                if t.rung in (RUNG_WARNING, RUNG_SKIP_LEVEL, RUNG_HR) and t.recipient_id not in {
                    p for p, _ in people
                }:
                    people.append((t.recipient_id, t.role))
            if people:
                await self._send(RUNG_RECOVERED, KR_RECOVERED, signal, people, "everyone told", {})
            return
        warned = any(t.rung == RUNG_WARNING for t in self._state.told)
        if not warned:
            return
        await self._tell(RUNG_RECOVERED, KR_RECOVERED, signal)

    async def _tell(self, rung: str, template: str, signal: RiskSignal) -> None:
        r = self._recipients
        if r is None:
            return
        people = [(r.owner_id, ROLE_OWNER)]
        if r.manager_id and r.manager_id != r.owner_id:
            people.append((r.manager_id, ROLE_MANAGER))
        await self._send(rung, template, signal, people, "the owner and the manager", {})

    async def _send(
        self,
        rung: str,
        template: str,
        signal: RiskSignal,
        people: list[tuple[str, str]],
        whom: str,
        extra: dict[str, str],
    ) -> bool:
        """One notice to ``people`` (id, role) with the numbers of ``signal`` (and ``extra``
        parameters), recorded in ``told``; False when it was not sent."""
        step = step_key(workflow.info().workflow_id, f"{rung}/{signal.week}")
        messages = [
            Outgoing(
                person,
                notice_params(
                    key_result_id=self._state.key_result_id,
                    cycle_id=self._input.cycle_id,
                    week=signal.week,
                    role=role,
                    expected_value=signal.expected_value,
                    value=signal.value,
                    unit=signal.unit,
                    shortfall=signal.shortfall,
                    weeks_behind=signal.behind_streak,
                )
                | extra,
            )
            for person, role in people
        ]
        at = rfc3339(workflow.now())
        try:
            await deliver(
                NotifyRequest(key=step, template=template, messages=messages),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=NOTIFY_RETRY,
                summary=f"{template} to {whom}",
            )
        except ActivityError as err:
            workflow.logger.warning("%s not sent (%s)", template, err.cause)
            return False
        self._state.told.extend(
            Told(rung, person, role, at, delivery_key(step, person)) for person, role in people
        )
        return True

    # The ladder (patch kr-escalation-ladder) -------------------------------------------------

    def _start_ladder(self) -> None:
        """Start counting towards skip_level once red (and the owner is known)."""
        if (
            self._ladder
            and not self._ladder_next
            and self._state.status == STATUS_ACTIVE
            and self._state.level >= RED_LEVEL
            and self._latest is not None
        ):
            self._ladder_next = RUNG_SKIP_LEVEL
            self._restart_count()

    def _restart_count(self) -> None:
        self._ladder_anchor = workflow.now()
        self._ladder_due = None
        self._ladder_stale = True

    async def _climb(self) -> None:
        """Compute when the next rung is due (org calendar) and climb when it is."""
        if not self._ladder or self._ladder_next in ("", LADDER_DONE):
            return
        if self._ladder_stale:
            self._ladder_stale = False
            await self._compute_due()
        due = self._ladder_due
        if due is None or workflow.now() < due or self._state.status != STATUS_ACTIVE:
            return
        rung, self._ladder_due = self._ladder_next, None
        since = self._since()
        policy = self._policy or LadderPolicy()
        # The next count starts now (a check-in while the notice waits out the quiet hours
        # restarts it again).
        if rung == RUNG_SKIP_LEVEL:
            self._raise_to(SKIP_LEVEL_LEVEL, policy.skip_level_days, since)
            self._ladder_next = RUNG_HR
            self._restart_count()
            await self._record_pending()
            await self._tell_skip_level(policy.skip_level_days, since)
        else:
            self._raise_to(HR_LEVEL, policy.hr_days, since)
            self._ladder_next = LADDER_DONE
            await self._record_pending()
            await self._tell_hr(policy.hr_days, since)

    def _since(self) -> str:
        anchor = self._ladder_anchor or workflow.now()
        try:
            return local_date(anchor, self._ladder_tz).isoformat()
        except ValueError:
            return local_date(anchor, DEFAULT_TIME_ZONE).isoformat()

    async def _compute_due(self) -> None:
        if self._policy is None:
            try:
                self._policy = await workflow.execute_activity(
                    LADDER_POLICY_ACTIVITY,
                    result_type=LadderPolicy,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=LADDER_POLICY_RETRY,
                    summary="escalation ladder settings",
                )
            except ActivityError as err:
                workflow.logger.warning("ladder settings not read, defaults used (%s)", err.cause)
                self._policy = LadderPolicy()
        anchor = self._ladder_anchor or workflow.now()
        days = (
            self._policy.skip_level_days
            if self._ladder_next == RUNG_SKIP_LEVEL
            else self._policy.hr_days
        )
        first = anchor.date() - timedelta(days=1)
        info = await org_calendar(first, first + timedelta(days=CALENDAR_SPAN_DAYS))
        calendar = WorkCalendar.of(info.holidays, info.working_days)
        try:
            due = add_working_days(anchor, days, info.time_zone, calendar)
            self._ladder_tz = info.time_zone
        except ValueError:  # an unknown zone (identity validates it): the default one
            due = add_working_days(anchor, days, DEFAULT_TIME_ZONE, calendar)
        self._ladder_due = due

    def _raise_to(self, level: int, days: int, since: str) -> None:
        before = self._state
        if before.level >= level:
            return
        self._state = replace(before, level=level, level_name=level_name(level))
        workflow.upsert_search_attributes([STRIDE_RISK_LEVEL.value_set(self._state.level_name)])
        self._decisions.append(ladder_decision(before, self._state, days, since))

    async def _tell_skip_level(self, days: int, since: str) -> None:
        """Tell the owner's manager's manager (none: logged, nobody told)."""
        signal = self._latest
        if signal is None:
            return
        try:
            found = await workflow.execute_activity(
                SKIP_LEVEL_ACTIVITY,
                SkipLevelInput(owner_id=signal.owner_id),
                result_type=SkipLevel,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=NOTIFY_RETRY,
                summary="owner's manager's manager",
            )
        except ActivityError as err:
            workflow.logger.warning("skip-level manager not found (%s)", err.cause)
            return
        if not found.skip_level_id or found.skip_level_id == signal.owner_id:
            workflow.logger.info("no skip-level manager: %s not sent", KR_SKIP_LEVEL)
            return
        extra = {"days": str(days), "since": since, "owner_id": signal.owner_id}
        await self._send(
            RUNG_SKIP_LEVEL,
            KR_SKIP_LEVEL,
            signal,
            [(found.skip_level_id, ROLE_SKIP_LEVEL)],
            "the skip-level manager",
            extra,
        )

    async def _tell_hr(self, days: int, since: str) -> None:
        """Tell HR, with the training courses that fit the owner's history."""
        signal = self._latest
        if signal is None:
            return
        try:
            found = await workflow.execute_activity(
                HR_NOTICE_ACTIVITY,
                HrNoticeInput(
                    owner_id=signal.owner_id,
                    key_result_id=self._state.key_result_id,
                    cycle_id=self._input.cycle_id,
                    department_id=self._input.department_id,
                    unit=signal.unit,
                ),
                result_type=HrNotice,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=NOTIFY_RETRY,
                summary="HR and training courses",
            )
        except ActivityError as err:
            workflow.logger.warning("HR not found (%s)", err.cause)
            return
        people = [(p, ROLE_HR) for p in dict.fromkeys(found.hr_ids) if p != signal.owner_id]
        if not people:
            workflow.logger.info("nobody has the hr role: %s not sent", KR_HR)
            return
        zh, en = courses_text(found.courses)
        extra = {
            "days": str(days),
            "since": since,
            "owner_id": signal.owner_id,
            "behind_before": str(len(found.behind_before)),
            "courses_zh": zh,
            "courses_en": en,
            "course_ids": ",".join(c.id for c in found.courses),
        }
        await self._send(RUNG_HR, KR_HR, signal, people, "HR", extra)

    def _cap_early_levels(self) -> None:
        """Signals handled before ``run`` decided on the ladder (signal-with-start hands them
        over first; a burst of check-ins arrives as several) were not capped at coordination:
        bring the level back to it, as if they had been, and forget their level changes above
        it (skip-level and HR are reached by time only)."""
        if self._state.level <= COORDINATION_LEVEL:
            return
        self._state = replace(
            self._state, level=COORDINATION_LEVEL, level_name=level_name(COORDINATION_LEVEL)
        )
        above = {f"level-{n}" for n in range(COORDINATION_LEVEL + 1, MAX_LEVEL + 1)}
        self._decisions = [d for d in self._decisions if d.step not in above]
        workflow.upsert_search_attributes([STRIDE_RISK_LEVEL.value_set(self._state.level_name)])

    @workflow.signal(name=SIGNAL_RISK_ASSESSED)
    def risk_assessed(self, signal: RiskSignal) -> None:
        if signal.event_id in self._seen_events:
            return
        self._seen_events.add(signal.event_id)
        if signal.status not in RISK_STATUSES:
            workflow.logger.warning("ignoring unknown risk status %r", signal.status)
            return
        before = self._state
        cap = COORDINATION_LEVEL if self._ladder else MAX_LEVEL
        self._state = apply_risk_signal(before, signal, week_cap=cap)
        new_week = signal.week not in self._weeks_seen
        self._weeks_seen.add(signal.week)
        if signal.owner_id:
            self._latest = signal
        if self._ladder and self._state.status == STATUS_ACTIVE:
            if self._ladder_next in (RUNG_SKIP_LEVEL, RUNG_HR) and new_week:
                self._restart_count()
            self._start_ladder()
        if before.level == 0 and self._state.level > 0 and signal.status == Risk.AT_RISK:
            self._warning = signal
        if self._state.status == STATUS_ACTIVE:
            if before.level < RED_LEVEL <= self._state.level:
                self._red = signal
            for blocker in red_blockers(signal):
                if blocker.id and blocker.id not in self._blockers_seen:
                    self._blockers_seen.add(blocker.id)
                    self._new_blockers.append((blocker, signal))
        if before.status == STATUS_ACTIVE and self._state.status == STATUS_RESOLVED:
            self._recovery = signal
        if self._state.level != before.level:
            workflow.upsert_search_attributes([STRIDE_RISK_LEVEL.value_set(self._state.level_name)])
            self._decisions.append(level_decision(before, self._state, signal))

    @workflow.signal(name=SIGNAL_BLOCKER_RESOLVED_KR)
    def blocker_resolved(self, signal: BlockerResolvedSignal) -> None:
        """A department resolved a blocker (goals' blocker.resolved, through the bridge)."""
        if signal.event_id in self._seen_events:
            return
        self._seen_events.add(signal.event_id)
        if signal.blocker_id not in self._blockers_resolved:
            self._blockers_resolved.append(signal.blocker_id)
            self._forward.append(signal.blocker_id)

    @workflow.query(name="state")
    def state(self) -> EscalationState:
        return replace(
            self._state,
            at_risk_weeks=list(self._state.at_risk_weeks),
            told=[replace(t) for t in self._state.told],
            coordinations=list(self._state.coordinations),
        )
