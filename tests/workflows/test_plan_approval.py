"""PlanApprovalWorkflow on the time-skipping server: announcement, reminder after 2 working
days, skip-level escalation after 5, decisions through the validated ``decide`` Update,
a revision in the same run, HR override, refused Updates that change nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import build_worker
from tests.waiting import until as wait_until
from tests.workflows.fake_activities import SKIP_LEVEL, FakeActivities
from workflows import ids
from workflows.calendar import rfc3339
from workflows.notifications import (
    APPROVAL_DECIDED,
    APPROVAL_ESCALATED,
    APPROVAL_REMINDER,
    APPROVAL_REQUESTED,
)
from workflows.plan_approval import (
    DECIDE_ACTIVITY,
    ESCALATE_ACTIVITY,
    SIGNAL_APPROVAL_REQUESTED,
    ApprovalRequest,
    DecisionInput,
    PlanApprovalInput,
    PlanApprovalState,
    PlanApprovalWorkflow,
)
from workflows.search_attributes import STRIDE_CYCLE, STRIDE_DEPARTMENT, STRIDE_PHASE

SHANGHAI = ZoneInfo("Asia/Shanghai")
MANAGER = "emp-manager"
Handle = WorkflowHandle[PlanApprovalWorkflow, PlanApprovalState]


@pytest.fixture
async def fakes() -> FakeActivities:
    return FakeActivities()


@pytest.fixture
async def task_queue(client: Client, fakes: FakeActivities) -> AsyncIterator[str]:
    async with build_worker(client, f"tq-{uuid.uuid4()}", activities=fakes.all()) as worker:
        yield worker.task_queue


@pytest.fixture
async def started(client: Client) -> AsyncIterator[list[Handle]]:
    handles: list[Handle] = []
    yield handles
    for handle in handles:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test over")


def request(approval_id: str, at: datetime, kind: str = "plan") -> ApprovalRequest:
    return ApprovalRequest(
        event_id=f"evt-{uuid.uuid4().hex[:8]}",
        approval_id=approval_id,
        kind=kind,
        approver_ids=[MANAGER],
        requested_at=rfc3339(at),
        objective_ids=["obj-1"] if kind == "plan" else [],
        revision_id="rev-1" if kind == "revision" else "",
    )


async def next_friday_10(env: WorkflowEnvironment) -> datetime:
    """The next Friday 10:00 Shanghai after the server's now (at least a day ahead)."""
    now = (await env.get_current_time()).astimezone(SHANGHAI)
    day = now.date() + timedelta(days=1)
    while day.weekday() != 4:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=SHANGHAI)


async def start(
    client: Client, task_queue: str, first: ApprovalRequest, started: list[Handle]
) -> Handle:
    employee = f"emp-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        PlanApprovalWorkflow.run,
        PlanApprovalInput(cycle_id="cyc-q1", employee_id=employee, department_id="dep-qa"),
        id=ids.plan_approval("cyc-q1", employee),
        task_queue=task_queue,
        start_signal=SIGNAL_APPROVAL_REQUESTED,
        start_signal_args=[first],
    )
    started.append(handle)
    return handle


async def until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


def local_minute(t: datetime) -> datetime:
    return t.astimezone(SHANGHAI).replace(second=0, microsecond=0)


async def test_reminder_after_two_working_days_and_escalation_after_five(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    task_queue: str,
    started: list[Handle],
) -> None:
    friday = await next_friday_10(temporal_env)
    # Wait until the request time, as if the plan was submitted on Friday 10:00.
    await temporal_env.sleep(friday - await temporal_env.get_current_time())
    handle = await start(client, task_queue, request("apr-1", friday), started)
    await until(lambda: len(fakes.notifications(APPROVAL_REQUESTED)) == 1)
    announced = fakes.notifications(APPROVAL_REQUESTED)[0]
    assert announced.key == f"{handle.id}/requested/apr-1"
    assert [m.recipient_id for m in announced.messages] == [MANAGER]

    # Saturday and Sunday do not count: the reminder goes out Tuesday 10:00.
    await temporal_env.sleep(timedelta(days=5))
    reminder_calls = [c for c in fakes.of("notify") if c.input.template == APPROVAL_REMINDER]
    assert len(reminder_calls) == 1
    assert local_minute(reminder_calls[0].at) == friday + timedelta(days=4)
    assert fakes.of(ESCALATE_ACTIVITY) == []

    # Five working days: the next Friday 10:00, the skip-level manager is added and told.
    await temporal_env.sleep(timedelta(days=3))
    await until(lambda: len(fakes.notifications(APPROVAL_ESCALATED)) == 1)
    escalations = fakes.of(ESCALATE_ACTIVITY)
    assert len(escalations) == 1
    assert local_minute(escalations[0].at) == friday + timedelta(days=7)
    assert [m.recipient_id for m in fakes.notifications(APPROVAL_ESCALATED)[0].messages] == [
        SKIP_LEVEL
    ]
    state = await handle.query(PlanApprovalWorkflow.state)
    assert state.phase == "plan-approval:escalated"
    assert state.approvals[0].approver_ids == [MANAGER, SKIP_LEVEL]
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(STRIDE_PHASE) == "plan-approval:escalated"
    assert desc.typed_search_attributes.get(STRIDE_CYCLE) == "cyc-q1"
    assert desc.typed_search_attributes.get(STRIDE_DEPARTMENT) == "dep-qa"

    # The skip-level manager approves; the owner is told; nothing pending: the run ends.
    item = await handle.execute_update(
        PlanApprovalWorkflow.decide,
        DecisionInput("apr-1", "approve", actor_id=SKIP_LEVEL, comment="Good plan"),
    )
    assert (item.status, item.decided_by, item.overridden) == ("approved", SKIP_LEVEL, False)
    result = await handle.result()
    assert result.phase == "plan-approval:done"
    decided = fakes.notifications(APPROVAL_DECIDED)
    assert [m.recipient_id for m in decided[0].messages] == [handle.id.rsplit("/", 1)[1]]
    assert decided[0].messages[0].params["comment"] == "Good plan"
    assert [c.input.decided_by for c in fakes.of(DECIDE_ACTIVITY)] == [SKIP_LEVEL]
    # One reminder and one escalation only, however long it waited.
    assert len(fakes.notifications(APPROVAL_REMINDER)) == 1


async def test_a_revision_in_the_same_run_and_refused_updates_change_nothing(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    task_queue: str,
    started: list[Handle],
) -> None:
    now = await temporal_env.get_current_time()
    handle = await start(client, task_queue, request("apr-plan", now), started)
    # A revision asked for later arrives as a signal on the same run; a redelivery is ignored.
    revision = request("apr-rev", now, kind="revision")
    await handle.signal(PlanApprovalWorkflow.approval_requested, revision)
    await handle.signal(PlanApprovalWorkflow.approval_requested, revision)
    await until(lambda: len(fakes.notifications(APPROVAL_REQUESTED)) == 2)

    async def on_calendar() -> bool:
        # A request announced while the calendar of an earlier one was read gets its
        # reminder recounted on the calendar in the next pass.
        state = await handle.query(PlanApprovalWorkflow.state)
        return len(state.approvals) == 2 and all(a.on_calendar for a in state.approvals)

    await wait_until(on_calendar, 10, what="both approvals counted on the calendar")
    before = await handle.query(PlanApprovalWorkflow.state)
    assert [(a.approval_id, a.kind, a.status) for a in before.approvals] == [
        ("apr-plan", "plan", "pending"),
        ("apr-rev", "revision", "pending"),
    ]

    async def refused(decision: DecisionInput) -> str:
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(PlanApprovalWorkflow.decide, decision)
        cause = info.value.cause
        assert isinstance(cause, ApplicationError)
        return str(cause.type)

    # The wrong manager, an unknown approval, a bad decision: refused, nothing applied.
    assert await refused(DecisionInput("apr-plan", "approve", actor_id="emp-other-mgr")) == (
        "not_an_approver"
    )
    assert await refused(DecisionInput("apr-nope", "approve", actor_id=MANAGER)) == (
        "approval_not_found"
    )
    assert await refused(DecisionInput("apr-plan", "maybe", actor_id=MANAGER)) == (
        "invalid_decision"
    )
    assert await handle.query(PlanApprovalWorkflow.state) == before
    assert fakes.of(DECIDE_ACTIVITY) == []

    # The manager approves the plan; deciding it again is refused, state unchanged.
    item = await handle.execute_update(
        PlanApprovalWorkflow.decide, DecisionInput("apr-plan", "approve", actor_id=MANAGER)
    )
    assert item.status == "approved"
    after_first = await handle.query(PlanApprovalWorkflow.state)
    assert await refused(DecisionInput("apr-plan", "reject", actor_id=MANAGER)) == (
        "approval_not_pending"
    )
    assert await handle.query(PlanApprovalWorkflow.state) == after_first
    assert len(fakes.of(DECIDE_ACTIVITY)) == 1

    # The revision is still pending; the run goes on until it is decided (rejected here).
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    rejected = await handle.execute_update(
        PlanApprovalWorkflow.decide,
        DecisionInput("apr-rev", "reject", actor_id=MANAGER, comment="Keep the target"),
    )
    assert rejected.status == "rejected"
    result = await handle.result()
    assert [(a.approval_id, a.status) for a in result.approvals] == [
        ("apr-plan", "approved"),
        ("apr-rev", "rejected"),
    ]
    decisions = [(c.input.approval_id, c.input.decision) for c in fakes.of(DECIDE_ACTIVITY)]
    assert decisions == [("apr-plan", "approve"), ("apr-rev", "reject")]
    assert {n.key.rsplit("/", 1)[1] for n in fakes.notifications(APPROVAL_DECIDED)} == {
        "apr-plan",
        "apr-rev",
    }


async def test_hr_overrides_and_a_refusal_by_goals_keeps_it_pending(
    temporal_env: WorkflowEnvironment,
    client: Client,
    fakes: FakeActivities,
    task_queue: str,
    started: list[Handle],
) -> None:
    now = await temporal_env.get_current_time()
    handle = await start(client, task_queue, request("apr-hr", now), started)
    await until(lambda: len(fakes.notifications(APPROVAL_REQUESTED)) == 1)
    # goals refuses the first attempt (e.g. decided meanwhile elsewhere): still pending.
    fakes.refuse_decisions = 1
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(
            PlanApprovalWorkflow.decide, DecisionInput("apr-hr", "approve", actor_id=MANAGER)
        )
    assert isinstance(info.value.cause, ApplicationError)
    assert info.value.cause.type == "decision_refused"
    state = await handle.query(PlanApprovalWorkflow.state)
    assert state.approvals[0].status == "pending"

    # HR (not an approver) decides in place of the manager: an override.
    item = await handle.execute_update(
        PlanApprovalWorkflow.decide,
        DecisionInput("apr-hr", "reject", actor_id="emp-hr", actor_is_hr=True, comment="No"),
    )
    assert (item.status, item.overridden, item.decided_by) == ("rejected", True, "emp-hr")
    last = fakes.of(DECIDE_ACTIVITY)[-1].input
    assert (last.override, last.decided_by, last.decision) == (True, "emp-hr", "reject")
    assert (await handle.result()).approvals[0].status == "rejected"
