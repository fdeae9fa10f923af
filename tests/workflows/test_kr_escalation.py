"""KrEscalationWorkflow on the time-skipping server: levels, dedupe, resolution, cycle end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.worker.worker import build_worker
from tests.fakes.audit import DecisionLog
from tests.waiting import eventually
from workflows import ids
from workflows.kr_escalation import (
    SIGNAL_RISK_ASSESSED,
    EscalationState,
    KrEscalationInput,
    KrEscalationWorkflow,
    RiskSignal,
)
from workflows.search_attributes import (
    STRIDE_CYCLE,
    STRIDE_DEPARTMENT,
    STRIDE_PHASE,
    STRIDE_RISK_LEVEL,
)

Handle = WorkflowHandle[KrEscalationWorkflow, EscalationState]


class _AnyDetail(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith("level ")

    __hash__ = str.__hash__


ANY_DETAIL = _AnyDetail("level ...")


def at_risk(week: str, event_id: str | None = None) -> RiskSignal:
    return RiskSignal(
        event_id=event_id or str(uuid.uuid4()),
        check_in_id=str(uuid.uuid4()),
        week=week,
        status="at_risk",
        shortfall=0.3,
        behind_streak=2,
    )


def other(status: str, week: str = "2026-W50") -> RiskSignal:
    return RiskSignal(
        event_id=str(uuid.uuid4()),
        check_in_id=str(uuid.uuid4()),
        week=week,
        status=status,
        shortfall=0.0,
        behind_streak=0,
    )


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Escalations:
    """Starts escalations on one worker's task queue and remembers them for clean-up."""

    def __init__(self, env: WorkflowEnvironment, client: Client, worker: Worker) -> None:
        self.env = env
        self.client = client
        self.worker = worker
        self.started: list[Handle] = []
        self.decisions = DecisionLog()

    async def start(
        self, first: RiskSignal, *, cycle_end: timedelta | str = timedelta(days=60)
    ) -> Handle:
        """Signal-with-start, as the event bridge does."""
        kr = f"kr-{uuid.uuid4()}"
        end = (
            cycle_end
            if isinstance(cycle_end, str)
            else rfc3339(await self.env.get_current_time() + cycle_end)
        )
        handle = await self.client.start_workflow(
            KrEscalationWorkflow.run,
            KrEscalationInput(
                key_result_id=kr,
                cycle_id="cycle-2026q4",
                department_id="dept-7",
                cycle_end_utc=end,
            ),
            id=ids.kr_escalation(kr),
            task_queue=self.worker.task_queue,
            start_signal=SIGNAL_RISK_ASSESSED,
            start_signal_args=[first],
        )
        self.started.append(handle)
        return handle

    async def terminate_running(self) -> None:
        for handle in self.started:
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                continue
            # Resolve it and let it finish (recording its last decisions): a workflow
            # terminated mid-way left the time-skipping server unable to skip time for the
            # next test.
            await handle.signal(KrEscalationWorkflow.risk_assessed, other("on_track"))
            try:
                await asyncio.wait_for(handle.result(), timeout=10)
            except (TimeoutError, WorkflowFailureError):
                await handle.terminate("test over")


@pytest.fixture
async def esc(temporal_env: WorkflowEnvironment, client: Client) -> AsyncIterator[Escalations]:
    """A worker on a fresh task queue; escalations still running at the end are terminated.

    Time skipping is global to the test server: a workflow left running by one test would
    have its timer fired while a later test awaits a result, and its workflow task, with no
    worker left to take it, would stop time skipping for good (seen: a later test hangs).
    """
    decisions = DecisionLog()
    async with build_worker(
        client, f"tq-{uuid.uuid4()}", activities=decisions.activities()
    ) as worker:
        escalations = Escalations(temporal_env, client, worker)
        escalations.decisions = decisions
        try:
            yield escalations
        finally:
            await escalations.terminate_running()


async def state_becomes(handle: Handle, **expected: object) -> EscalationState:
    """Poll the ``state`` query until it has the expected field values; return it."""
    seen: list[EscalationState] = []

    async def check() -> None:
        state = await handle.query(KrEscalationWorkflow.state)
        seen.append(state)
        for name, value in expected.items():
            assert getattr(state, name) == value, (name, state)

    await eventually(check)
    return seen[-1]


async def settled(handle: Handle, signals_sent: int) -> EscalationState:
    """The state once the workflow has processed ``signals_sent`` signals (from history)."""

    async def check() -> None:
        history = await handle.fetch_history()
        signalled = [
            e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
        ]
        assert len(signalled) == signals_sent
        # Processed: a workflow task completed after the last signal.
        last_signal = signalled[-1].event_id
        assert any(
            e.event_id > last_signal and e.HasField("workflow_task_completed_event_attributes")
            for e in history.events
        )

    await eventually(check)
    return await handle.query(KrEscalationWorkflow.state)


async def test_levels_rise_per_new_at_risk_week_and_cap_at_coordination(
    esc: Escalations,
) -> None:
    """skip_level and hr are reached by time on the ladder (test_kr_escalation_ladder.py),
    never by lagging weeks alone."""
    handle = await esc.start(at_risk("2026-W45"))
    state = await state_becomes(handle, level=1)
    assert state == EscalationState(
        key_result_id=handle.id.removeprefix("kr-escalation/"),
        level=1,
        level_name="warning",
        status="active",
        at_risk_weeks=["2026-W45"],
    )
    expected = [(2, "red"), (3, "coordination"), (3, "coordination"), (3, "coordination")]
    weeks = ["2026-W46", "2026-W47", "2026-W48", "2026-W49"]
    for week, (level, name) in zip(weeks, expected, strict=True):
        await handle.signal(KrEscalationWorkflow.risk_assessed, at_risk(week))
        state = await state_becomes(
            handle, at_risk_weeks=["2026-W45", *weeks[: weeks.index(week) + 1]]
        )
        assert (state.level, state.level_name, state.status) == (level, name, "active")

    # Each level change is recorded once in the audit trail (the capped week adds none).
    async def recorded() -> None:
        decisions = esc.decisions.of(handle.id)
        assert [d.step for d in decisions] == [f"level-{n}" for n in range(1, 4)]

    await eventually(recorded)
    last = esc.decisions.of(handle.id)[-1]
    assert last.action == "worker.kr_escalation.level_changed"
    assert last.resource_type == "key_result" and handle.id.endswith(last.resource_id)
    assert last.detail.startswith("level red -> coordination (at risk in 2026-W47")


async def test_redelivered_event_changes_nothing(esc: Escalations) -> None:
    first = at_risk("2026-W45")
    handle = await esc.start(first)
    await state_becomes(handle, level=1)
    # The same event again (NATS redelivery), and even a different payload under the same id.
    await handle.signal(KrEscalationWorkflow.risk_assessed, first)
    await handle.signal(KrEscalationWorkflow.risk_assessed, at_risk("2026-W46", first.event_id))
    state = await settled(handle, signals_sent=3)
    assert (state.level, state.at_risk_weeks, state.status) == (1, ["2026-W45"], "active")
    # A new event still acts.
    await handle.signal(KrEscalationWorkflow.risk_assessed, other("on_track", "2026-W47"))
    result = await handle.result()
    assert (result.status, result.level) == ("resolved", 1)


async def test_resubmission_in_a_counted_week_does_not_raise(esc: Escalations) -> None:
    handle = await esc.start(at_risk("2026-W45"))
    await handle.signal(KrEscalationWorkflow.risk_assessed, at_risk("2026-W46"))
    await state_becomes(handle, level=2)
    # Re-submitted check-in of week 46 (new event, new revision), still at risk.
    await handle.signal(KrEscalationWorkflow.risk_assessed, at_risk("2026-W46"))
    # behind and no_data change nothing either.
    await handle.signal(KrEscalationWorkflow.risk_assessed, other("behind", "2026-W47"))
    await handle.signal(KrEscalationWorkflow.risk_assessed, other("no_data", "2026-W47"))
    state = await settled(handle, signals_sent=5)
    assert (state.level, state.level_name) == (2, "red")
    assert state.at_risk_weeks == ["2026-W45", "2026-W46"]
    # A later new week still counts.
    await handle.signal(KrEscalationWorkflow.risk_assessed, at_risk("2026-W47"))
    await state_becomes(handle, level=3, level_name="coordination")


async def test_on_track_resolves(esc: Escalations) -> None:
    handle = await esc.start(at_risk("2026-W45"))
    await handle.signal(KrEscalationWorkflow.risk_assessed, at_risk("2026-W46"))
    await handle.signal(KrEscalationWorkflow.risk_assessed, other("on_track", "2026-W47"))
    result = await handle.result()
    assert result == EscalationState(
        key_result_id=handle.id.removeprefix("kr-escalation/"),
        level=2,
        level_name="red",
        status="resolved",
        at_risk_weeks=["2026-W45", "2026-W46"],
    )
    # The closed workflow still answers the query.
    assert (await handle.query(KrEscalationWorkflow.state)).status == "resolved"
    assert [(d.step, d.detail) for d in esc.decisions.of(handle.id)] == [
        ("level-1", ANY_DETAIL),
        ("level-2", ANY_DETAIL),
        ("closed", "resolved at level red"),
    ]


async def test_cycle_end_timer_ends_it(esc: Escalations) -> None:
    before = await esc.env.get_current_time()
    handle = await esc.start(at_risk("2026-W45"), cycle_end=timedelta(days=45))
    await state_becomes(handle, level=1)
    result = await handle.result()  # time skips to the durable timer
    assert (result.status, result.level, result.level_name) == ("cycle_ended", 1, "warning")
    assert await esc.env.get_current_time() >= before + timedelta(days=45)
    history = await handle.fetch_history()
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    assert len(timers) == 1
    fired_after = timers[0].timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
    assert timedelta(days=44) < fired_after <= timedelta(days=45)


async def test_cycle_already_over_ends_at_once(esc: Escalations) -> None:
    past = rfc3339(await esc.env.get_current_time() - timedelta(days=1))
    handle = await esc.start(at_risk("2026-W45"), cycle_end=past)
    result = await handle.result()
    assert (result.status, result.level) == ("cycle_ended", 1)


async def test_invalid_cycle_end_fails_the_run(esc: Escalations) -> None:
    handle = await esc.start(at_risk("2026-W45"), cycle_end="2026-12-31")
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "InvalidInput"


async def test_search_attributes_carry_cycle_department_phase_and_level(esc: Escalations) -> None:
    handle = await esc.start(at_risk("2026-W45"))
    await state_becomes(handle, level=1)

    async def attributes_are(level_name: str) -> None:
        sa = (await handle.describe()).typed_search_attributes
        assert sa.get(STRIDE_CYCLE) == "cycle-2026q4"
        assert sa.get(STRIDE_DEPARTMENT) == "dept-7"
        assert sa.get(STRIDE_PHASE) == "escalation"
        assert sa.get(STRIDE_RISK_LEVEL) == level_name

    await eventually(lambda: attributes_are("warning"))
    await handle.signal(KrEscalationWorkflow.risk_assessed, at_risk("2026-W46"))
    await eventually(lambda: attributes_are("red"))
    await handle.signal(KrEscalationWorkflow.risk_assessed, other("on_track"))
    await handle.result()
