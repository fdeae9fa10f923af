"""Escalation of an at-risk key result: ``kr-escalation/<key_result_id>``.

Started by the event bridge with signal-with-start when a check-in turns the key result
at risk; every further check-in result arrives as the ``risk_assessed`` signal.

- A signal whose ``event_id`` was seen before is ignored (NATS redelivers at least once).
- Each ``at_risk`` signal for an ISO week not yet counted raises the level by one
  (1 warning → 2 red → 3 coordination → 4 skip_level → 5 hr, capped at 5); a re-submitted
  check-in of a week already counted does not.
- ``on_track`` resolves the escalation (status ``resolved``); ``behind`` and ``no_data``
  change nothing.
- A durable timer to the end of the cycle ends it (status ``cycle_ended``).

The rules are the pure :func:`apply_risk_signal`; the workflow only keeps state, dedupes
events, publishes search attributes and waits.

Notifications (patch ``kr-escalation-notify``, :mod:`workflows.escalation_notices`): on
reaching *warning* the owner and the owner's direct manager get one inbox item and one
e-mail each with the numbers of the check-in that raised it; when it resolves (back on
track) the same people are told once. The ``state`` query lists who was told and when
(``told``). Higher levels (red, coordination, skip-level, HR) send nothing yet; the cycle end
closes the escalation silently. Runs started before the patch, and signals without an
``owner_id`` (sent by an older bridge), notify nobody.

Every level change and the close are recorded in the audit trail (actor
``workflow:kr-escalation/<kr>``) through the ``record_decision`` activity; runs started before
that existed (patch ``kr-escalation-audit``) keep their old commands. The starter sets the memo
``title`` ("KR escalation <kr>").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.audit import Decision, record_decision
from workflows.calendar import rfc3339
from workflows.delivery import deliver
from workflows.escalation_notices import (
    RECIPIENTS_ACTIVITY,
    ROLE_MANAGER,
    ROLE_OWNER,
    RUNG_RECOVERED,
    RUNG_WARNING,
    Recipients,
    RecipientsInput,
    Told,
    notice_params,
)
from workflows.notifications import (
    KR_RECOVERED,
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
from workflows.vocabulary import INVALID_INPUT_ERROR, RISK_STATUSES, Risk

SIGNAL_RISK_ASSESSED = "risk_assessed"
PHASE = "escalation"
# workflow.patched id: runs that record their decisions in the audit trail.
PATCH_AUDIT = "kr-escalation-audit"
# workflow.patched id: runs that tell the owner and the manager (warning, back on track).
PATCH_NOTIFY = "kr-escalation-notify"
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

LEVEL_NAMES: tuple[str, ...] = ("none", "warning", "red", "coordination", "skip_level", "hr")
MAX_LEVEL = len(LEVEL_NAMES) - 1

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
        f"(at risk in {signal.week}, check-in {signal.check_in_id})",
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


def level_name(level: int) -> str:
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"escalation level must be 0..{MAX_LEVEL}, got {level}")
    return LEVEL_NAMES[level]


def apply_risk_signal(state: EscalationState, signal: RiskSignal) -> EscalationState:
    """The escalation state after one (not yet seen) risk signal. Pure; never mutates ``state``.

    A closed escalation does not change. ``on_track`` resolves it. ``at_risk`` in a week not
    counted yet raises the level by one (capped at :data:`MAX_LEVEL`) and counts the week;
    everything else (a week already counted, ``behind``, ``no_data``, an unknown status)
    leaves it as it is.
    """
    if state.status != STATUS_ACTIVE:
        return state
    if signal.status == Risk.ON_TRACK:
        return replace(state, status=STATUS_RESOLVED, at_risk_weeks=list(state.at_risk_weeks))
    if signal.status != Risk.AT_RISK or signal.week in state.at_risk_weeks:
        return state
    level = min(state.level + 1, MAX_LEVEL)
    return replace(
        state,
        level=level,
        level_name=level_name(level),
        at_risk_weeks=[*state.at_risk_weeks, signal.week],
    )


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
            remaining = cycle_end - workflow.now()
            if remaining <= timedelta(0):
                self._state = replace(self._state, status=STATUS_CYCLE_ENDED)
                break
            try:
                await workflow.wait_condition(
                    lambda: self._state.status != STATUS_ACTIVE or bool(self._decisions),
                    timeout=remaining,
                    timeout_summary="cycle end",
                )
            except TimeoutError:
                self._state = replace(self._state, status=STATUS_CYCLE_ENDED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._decisions.append(closed_decision(self._state))
        await self._record_pending()
        await self._tell_recovery()
        workflow.logger.info(
            "escalation closed", extra={"status": self._state.status, "level": self._state.level}
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
        """Tell the people told about the warning that the key result is back on track."""
        signal = self._recovery
        warned = any(t.rung == RUNG_WARNING for t in self._state.told)
        if signal is None or self._state.status != STATUS_RESOLVED or not warned:
            return
        await self._tell(RUNG_RECOVERED, KR_RECOVERED, signal)

    async def _tell(self, rung: str, template: str, signal: RiskSignal) -> None:
        r = self._recipients
        if r is None:
            return
        people = [(r.owner_id, ROLE_OWNER)]
        if r.manager_id and r.manager_id != r.owner_id:
            people.append((r.manager_id, ROLE_MANAGER))
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
                ),
            )
            for person, role in people
        ]
        at = rfc3339(workflow.now())
        try:
            await deliver(
                NotifyRequest(key=step, template=template, messages=messages),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=NOTIFY_RETRY,
                summary=f"{template} to the owner and the manager",
            )
        except ActivityError as err:
            workflow.logger.warning("%s not sent (%s)", template, err.cause)
            return
        self._state.told.extend(
            Told(rung, person, role, at, delivery_key(step, person)) for person, role in people
        )

    @workflow.signal(name=SIGNAL_RISK_ASSESSED)
    def risk_assessed(self, signal: RiskSignal) -> None:
        if signal.event_id in self._seen_events:
            return
        self._seen_events.add(signal.event_id)
        if signal.status not in RISK_STATUSES:
            workflow.logger.warning("ignoring unknown risk status %r", signal.status)
            return
        before = self._state
        self._state = apply_risk_signal(before, signal)
        if before.level == 0 and self._state.level > 0:
            self._warning = signal
        if before.status == STATUS_ACTIVE and self._state.status == STATUS_RESOLVED:
            self._recovery = signal
        if self._state.level != before.level:
            workflow.upsert_search_attributes([STRIDE_RISK_LEVEL.value_set(self._state.level_name)])
            self._decisions.append(level_decision(before, self._state, signal))

    @workflow.query(name="state")
    def state(self) -> EscalationState:
        return replace(
            self._state,
            at_risk_weeks=list(self._state.at_risk_weeks),
            told=[replace(t) for t in self._state.told],
        )
