"""The event bridge starting the approval and cycle workflows: real nats-server, real
Temporal dev server, the workflows with fake activities (the real ones are tested in
test_notify.py and test_approval_flow.py).

- ApprovalRequested → signal-with-start ``cycle/<cycle>/plan/<employee>``; a redelivered event
  and a later revision land in the same run; the memo has a title, no personal data;
- CycleCreated → ``cycle/<cycle>`` once (a second event is "exists", not an error);
- CycleClosed → a backfill cycle's workflow, waiting for it, finishes;
- events that can never be handled are dropped; an existing durable consumer from before
  (check-ins only) is widened to the new subjects.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta

import nats
import pytest
from nats.aio.client import Client as Nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.nats import GOALS_STREAM, ensure_streams
from services.goals.events import (
    APPROVAL_REQUESTED,
    BLOCKER_RESOLVED,
    CHECKIN_RECORDED,
    CYCLE_CLOSED,
    CYCLE_CREATED,
    RISK_SWEPT,
)
from services.worker.bridge import EventBridge
from services.worker.handlers import (
    InvalidEvent,
    Outcome,
    handle_approval_requested,
    handle_cycle_closed,
    handle_cycle_created,
)
from services.worker.worker import build_worker
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2
from tests.integration.test_bridge import consumer_settled, eventually
from tests.workflows.fake_activities import FakeActivities
from workflows import ids
from workflows.cycle import CycleWorkflow
from workflows.plan_approval import PlanApprovalWorkflow
from workflows.search_attributes import STRIDE_CYCLE, STRIDE_DEPARTMENT, STRIDE_PHASE


@pytest.fixture
async def worker(temporal_dev_env: WorkflowEnvironment) -> AsyncIterator[Worker]:
    fakes = FakeActivities()
    async with build_worker(
        temporal_dev_env.client, f"bridge-wf-{uuid.uuid4()}", activities=fakes.all()
    ) as w:
        yield w


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc: Nats = await nats.connect(nats_url)
    try:
        jsc = nc.jetstream()
        await ensure_streams(jsc)
        yield jsc
    finally:
        await nc.drain()


def meta(event_id: str | None = None) -> common_pb2.EventMeta:
    return common_pb2.EventMeta(
        event_id=event_id or str(uuid.uuid4()), occurred_at="2026-11-23T02:00:00Z", producer="goals"
    )


def approval_requested(
    cycle: str, employee: str, approval: str, *, kind: int = goals_pb2.APPROVAL_KIND_PLAN
) -> goals_pb2.ApprovalRequested:
    return goals_pb2.ApprovalRequested(
        meta=meta(),
        approval=goals_pb2.Approval(
            id=approval,
            kind=kind,  # type: ignore[arg-type]
            status=goals_pb2.APPROVAL_STATUS_PENDING,
            cycle_id=cycle,
            employee_id=employee,
            department_id="dept-qa",
            objective_ids=["obj-1"],
            approver_ids=["emp-manager"],
            workflow_id=ids.plan_approval(cycle, employee),
            created_at="2026-11-23T02:00:00Z",
        ),
        time_zone="Asia/Shanghai",
        approval_deadline="2026-12-15",
    )


def cycle_created(cycle: str, start: date) -> goals_pb2.CycleCreated:
    return goals_pb2.CycleCreated(
        meta=meta(),
        cycle=goals_pb2.Cycle(
            id=cycle,
            name="Q",
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=90)).isoformat(),
            time_zone="Asia/Shanghai",
        ),
    )


async def approvals_of(handle, count: int):  # type: ignore[no-untyped-def]
    async def check() -> None:
        state = await handle.query(PlanApprovalWorkflow.state)
        assert len(state.approvals) == count

    await eventually(check)
    return await handle.query(PlanApprovalWorkflow.state)


async def test_approval_events_start_one_workflow_per_person_and_cycle(
    temporal_dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    client = temporal_dev_env.client
    cycle, employee = f"cyc-{uuid.uuid4().hex[:6]}", f"emp-{uuid.uuid4().hex[:6]}"
    plan = approval_requested(cycle, employee, "apr-plan")
    tq = worker.task_queue
    assert await handle_approval_requested(client, plan, task_queue=tq) is (
        Outcome.APPROVAL_REQUESTED
    )
    # Redelivered: the same run, nothing added.
    assert await handle_approval_requested(client, plan, task_queue=tq) is (
        Outcome.APPROVAL_REQUESTED
    )
    revision = approval_requested(cycle, employee, "apr-rev", kind=goals_pb2.APPROVAL_KIND_REVISION)
    await handle_approval_requested(client, revision, task_queue=tq)
    handle = client.get_workflow_handle_for(
        PlanApprovalWorkflow.run, ids.plan_approval(cycle, employee)
    )
    state = await approvals_of(handle, 2)
    assert [(a.approval_id, a.kind, a.status) for a in state.approvals] == [
        ("apr-plan", "plan", "pending"),
        ("apr-rev", "revision", "pending"),
    ]
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(STRIDE_CYCLE) == cycle
    assert desc.typed_search_attributes.get(STRIDE_DEPARTMENT) == "dept-qa"
    assert desc.typed_search_attributes.get(STRIDE_PHASE) == "plan-approval:pending"
    assert await desc.memo_value("title") == f"Goal plan approval · cycle {cycle}"
    history = await handle.fetch_history()
    runs = {
        e.event_id
        for e in history.events
        if e.HasField("workflow_execution_started_event_attributes")
    }
    assert len(runs) == 1
    await handle.terminate("test over")

    # Events that can never be handled.
    broken = approval_requested(cycle, "", "apr-x")
    with pytest.raises(InvalidEvent):
        await handle_approval_requested(client, broken, task_queue=tq)
    zone = approval_requested(cycle, employee, "apr-y")
    zone.time_zone = "Mars/Olympus"
    with pytest.raises(InvalidEvent):
        await handle_approval_requested(client, zone, task_queue=tq)


async def test_cycle_created_starts_the_cycle_once(
    temporal_dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    client = temporal_dev_env.client
    cycle = f"cyc-{uuid.uuid4().hex[:6]}"
    event = cycle_created(cycle, date.today() + timedelta(days=30))
    tq = worker.task_queue
    assert await handle_cycle_created(client, event, task_queue=tq) is Outcome.CYCLE_STARTED
    assert await handle_cycle_created(client, event, task_queue=tq) is Outcome.CYCLE_EXISTS
    handle = client.get_workflow_handle_for(CycleWorkflow.run, ids.cycle(cycle))
    state = await handle.query(CycleWorkflow.state)
    assert state.next_step == "phase/planning" and state.total > 20
    desc = await handle.describe()
    assert desc.status == WorkflowExecutionStatus.RUNNING
    assert await desc.memo_value("title") == f"OKR cycle {cycle}"
    await handle.terminate("test over")
    # Even a finished (here: terminated) cycle workflow is not started again.
    assert await handle_cycle_created(client, event, task_queue=tq) is Outcome.CYCLE_EXISTS
    bad = cycle_created(f"cyc-{uuid.uuid4().hex[:6]}", date.today())
    bad.cycle.end_date = "2000-01-01"
    with pytest.raises(InvalidEvent):
        await handle_cycle_created(client, bad, task_queue=tq)


async def test_cycle_closed_finishes_a_backfill_cycle(
    temporal_dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    client = temporal_dev_env.client
    cycle = f"cyc-{uuid.uuid4().hex[:6]}"
    created = cycle_created(cycle, date.today() - timedelta(days=120))
    created.cycle.backfill = True
    tq = worker.task_queue
    assert await handle_cycle_created(client, created, task_queue=tq) is Outcome.CYCLE_STARTED
    handle = client.get_workflow_handle_for(CycleWorkflow.run, ids.cycle(cycle))

    async def waiting() -> None:
        assert (await handle.query(CycleWorkflow.state)).awaiting_close

    await eventually(waiting)
    closed = goals_pb2.CycleClosed(meta=meta(), cycle=goals_pb2.Cycle(id=cycle))
    assert await handle_cycle_closed(client, closed) is Outcome.CYCLE_CLOSED
    assert (await handle.result()).phase == "archived"
    # Redelivered, or a cycle whose workflow is gone: nobody waits for it.
    assert await handle_cycle_closed(client, closed) is Outcome.NO_CYCLE_WORKFLOW
    other = goals_pb2.CycleClosed(meta=meta(), cycle=goals_pb2.Cycle(id="cyc-never-started"))
    assert await handle_cycle_closed(client, other) is Outcome.NO_CYCLE_WORKFLOW
    with pytest.raises(InvalidEvent):
        await handle_cycle_closed(client, goals_pb2.CycleClosed(meta=meta()))


async def test_bridge_widens_an_old_consumer_and_routes_every_subject(
    temporal_dev_env: WorkflowEnvironment, nats_url: str, js: JetStreamContext, worker: Worker
) -> None:
    consumer = f"bridge-{uuid.uuid4().hex[:12]}"
    # The consumer as the previous release created it: check-ins only.
    await js.add_consumer(
        GOALS_STREAM,
        ConsumerConfig(
            name=consumer,
            durable_name=consumer,
            filter_subject=CHECKIN_RECORDED.subject,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
        ),
    )
    nc: Nats = await nats.connect(nats_url)
    bridge = EventBridge(
        nc.jetstream(),
        temporal_dev_env.client,
        task_queue=worker.task_queue,
        consumer=consumer,
        fetch_timeout=0.2,
    )
    await bridge.setup()
    info = await js.consumer_info(GOALS_STREAM, consumer)
    assert set(info.config.filter_subjects or []) == {
        CHECKIN_RECORDED.subject,
        APPROVAL_REQUESTED.subject,
        CYCLE_CREATED.subject,
        CYCLE_CLOSED.subject,
        BLOCKER_RESOLVED.subject,
        RISK_SWEPT.subject,
    }
    running = asyncio.create_task(bridge.run())
    cycle, employee = f"cyc-{uuid.uuid4().hex[:6]}", f"emp-{uuid.uuid4().hex[:6]}"
    client = temporal_dev_env.client
    try:
        plan = approval_requested(cycle, employee, "apr-1")
        await js.publish(
            APPROVAL_REQUESTED.subject,
            plan.SerializeToString(),
            headers={"Nats-Msg-Id": plan.meta.event_id},
        )
        await js.publish(
            CYCLE_CREATED.subject, b"\xff not a cycle", headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
        created = cycle_created(cycle, date.today() + timedelta(days=30))
        await js.publish(
            CYCLE_CREATED.subject,
            created.SerializeToString(),
            headers={"Nats-Msg-Id": created.meta.event_id},
        )
        approval = client.get_workflow_handle_for(
            PlanApprovalWorkflow.run, ids.plan_approval(cycle, employee)
        )
        await approvals_of(approval, 1)
        cycle_handle = client.get_workflow_handle(ids.cycle(cycle))

        async def cycle_running() -> None:
            assert (await cycle_handle.describe()).status == WorkflowExecutionStatus.RUNNING

        await eventually(cycle_running)
        await consumer_settled(js, consumer)
    finally:
        bridge.stop()
        await asyncio.wait_for(running, 30)
        await nc.drain()
        for wid in (ids.plan_approval(cycle, employee), ids.cycle(cycle)):
            handle = client.get_workflow_handle(wid)
            try:
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("test over")
            except Exception:
                pass
