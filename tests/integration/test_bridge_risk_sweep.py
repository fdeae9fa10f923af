"""The weekly risk sweep's events (``stride.goals.v1.kr.risk_swept``) through the event bridge,
against a real nats-server and a real Temporal dev server: a swept at-risk key result starts
(or raises) ``kr-escalation/<kr>``, on track resolves a running one, behind starts nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.nats import ensure_streams
from services.goals.events import RISK_SWEPT
from services.worker.bridge import EventBridge, decode
from services.worker.handlers import InvalidEvent, Outcome, handle_risk_swept
from services.worker.worker import build_worker
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2
from tests.fakes.audit import DecisionLog
from tests.integration.test_bridge import RISK, consumer_settled, new_kr, signals_handled
from tests.waiting import eventually
from tests.workflows.fake_activities import FakeActivities
from workflows import ids
from workflows.kr_escalation import KrEscalationWorkflow
from workflows.notifications import KR_WARNING


def risk_swept(
    kr: str, week: str, status: str, *, event_id: str | None = None
) -> goals_pb2.KeyResultRiskSwept:
    return goals_pb2.KeyResultRiskSwept(
        meta=common_pb2.EventMeta(
            event_id=event_id or str(uuid.uuid4()),
            occurred_at="2026-11-30T04:00:00Z",
            producer="goals",
        ),
        key_result=goals_pb2.KeyResult(
            id=kr,
            cycle_id="cycle-2026q4",
            owner_id="emp-0042",
            department_id="dept-assembly",
            baseline=0,
            target=100,
            unit="pcs",
            current_value=20.0,
            last_check_in_week="2026-W46",
            risk=goals_pb2.RiskAssessment(
                status=RISK[status],
                expected_value=54.0,
                shortfall=0.63 if status != "on_track" else 0.0,
                behind_streak=2 if status == "at_risk" else 0,
                rule_version=1,
            ),
        ),
        week=week,
        last_check_in_week="2026-W46",
        cycle_id="cycle-2026q4",
        cycle_end_date="2099-12-31",
        time_zone="Asia/Shanghai",
    )


@pytest.fixture
def fakes() -> FakeActivities:
    return FakeActivities()


@pytest.fixture
async def worker(
    temporal_dev_env: WorkflowEnvironment, fakes: FakeActivities
) -> AsyncIterator[Worker]:
    decisions = DecisionLog()
    async with build_worker(
        temporal_dev_env.client,
        f"bridge-sweep-{uuid.uuid4()}",
        activities=[*decisions.activities(), *fakes.all()],
    ) as w:
        yield w


async def test_swept_risk_starts_raises_and_resolves_the_escalation(
    temporal_dev_env: WorkflowEnvironment, worker: Worker, fakes: FakeActivities
) -> None:
    client, tq = temporal_dev_env.client, worker.task_queue
    kr = new_kr()

    # Behind: no workflow for a key result that is not at risk; on track: none to resolve.
    behind = risk_swept(kr, "2026-W47", "behind")
    assert await handle_risk_swept(client, behind, task_queue=tq) is Outcome.IGNORED
    on_track = risk_swept(kr, "2026-W47", "on_track")
    assert await handle_risk_swept(client, on_track, task_queue=tq) is Outcome.NO_ESCALATION
    with pytest.raises(RPCError) as not_found:
        await client.get_workflow_handle(ids.kr_escalation(kr)).describe()
    assert not_found.value.status == RPCStatusCode.NOT_FOUND

    # At risk after a silent week: signal-with-start, the carried value in the signal.
    first = risk_swept(kr, "2026-W48", "at_risk")
    assert await handle_risk_swept(client, first, task_queue=tq) is Outcome.ESCALATED
    handle = client.get_workflow_handle_for(KrEscalationWorkflow.run, ids.kr_escalation(kr))
    state = await signals_handled(handle, 1)
    assert (state.level_name, state.at_risk_weeks) == ("warning", ["2026-W48"])

    # The owner was told (the warning rung) with the swept numbers: the carried value.
    async def warned() -> None:
        told = (await handle.query(KrEscalationWorkflow.state)).told
        assert "owner" in {t.role for t in told}

    await eventually(warned)
    owner = [
        m.params
        for n in fakes.notifications(KR_WARNING)
        for m in n.messages
        if m.recipient_id == "emp-0042"
    ]
    assert owner and owner[0]["week"] == "2026-W48"
    assert (owner[0]["actual"], owner[0]["expected"], owner[0]["unit"]) == ("20", "54", "pcs")

    # The same event redelivered changes nothing; the next silent week raises the level.
    assert await handle_risk_swept(client, first, task_queue=tq) is Outcome.ESCALATED
    state = await signals_handled(handle, 2)
    assert state.level_name == "warning"
    second = risk_swept(kr, "2026-W49", "at_risk")
    assert await handle_risk_swept(client, second, task_queue=tq) is Outcome.ESCALATED
    state = await signals_handled(handle, 3)
    assert (state.level_name, state.at_risk_weeks) == ("red", ["2026-W48", "2026-W49"])

    # Back on track (a flat or falling plan): the running escalation resolves.
    back = risk_swept(kr, "2026-W50", "on_track")
    assert await handle_risk_swept(client, back, task_queue=tq) is Outcome.SIGNALLED
    assert (await handle.result()).status == "resolved"


async def test_swept_events_missing_what_the_bridge_needs_are_refused(
    temporal_dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    event = risk_swept(new_kr(), "2026-W48", "at_risk")
    event.cycle_end_date = ""
    with pytest.raises(InvalidEvent):
        await handle_risk_swept(temporal_dev_env.client, event, task_queue=worker.task_queue)
    event = risk_swept(new_kr(), "", "at_risk")
    with pytest.raises(InvalidEvent):
        await handle_risk_swept(temporal_dev_env.client, event, task_queue=worker.task_queue)
    assert decode(RISK_SWEPT.subject, event.SerializeToString()) == event


async def test_the_bridge_routes_swept_events_from_jetstream(
    temporal_dev_env: WorkflowEnvironment, worker: Worker, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    js: JetStreamContext = nc.jetstream()
    await ensure_streams(js)
    consumer = f"sweep-{uuid.uuid4().hex[:8]}"
    bridge = EventBridge(
        js,
        temporal_dev_env.client,
        task_queue=worker.task_queue,
        consumer=consumer,
        fetch_timeout=0.2,
    )
    await bridge.setup()
    running = asyncio.create_task(bridge.run())
    kr = new_kr()
    try:
        for event in (risk_swept(kr, "2026-W47", "behind"), risk_swept(kr, "2026-W48", "at_risk")):
            await js.publish(
                RISK_SWEPT.subject,
                event.SerializeToString(),
                headers={"Nats-Msg-Id": event.meta.event_id},
            )
        await consumer_settled(js, consumer)
        handle = temporal_dev_env.client.get_workflow_handle_for(
            KrEscalationWorkflow.run, ids.kr_escalation(kr)
        )

        async def escalated() -> None:
            state = await handle.query(KrEscalationWorkflow.state)
            assert (state.level_name, state.at_risk_weeks) == ("warning", ["2026-W48"])

        await eventually(escalated)
    finally:
        bridge.stop()
        await running
        await nc.drain()
