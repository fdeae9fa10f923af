"""The event bridge starting 360 feedback rounds: real nats-server, real Temporal dev server,
the round workflow with fake activities (the real ones: test_feedback_round_flow.py).

- RoundStarted → ``feedback-round/<cycle>/<subject>`` once (a second event is "exists");
  an event without ids or with a date that is not one can never be handled;
- published on STRIDE_FEEDBACK, the bridge's second consumer (``<name>-feedback``) takes it
  and the round's workflow starts nominating; the goals consumer keeps its name;
- PromotionApplied on the same consumer starts ``promotion/<case>`` (the manager is asked to
  endorse).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta

import nats
import pytest
from nats.aio.client import Client as Nats
from nats.js import JetStreamContext
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.nats import FEEDBACK_STREAM, GOALS_STREAM, ensure_streams
from services.feedback.events import PROMOTION_APPLIED, ROUND_STARTED_EVENT
from services.worker.bridge import EventBridge
from services.worker.handlers import InvalidEvent, Outcome
from services.worker.round_handlers import handle_round_started
from services.worker.worker import build_worker
from stride.common.v1 import common_pb2
from stride.feedback.v1 import promotions_pb2, rounds_pb2
from tests.integration.test_bridge import eventually
from tests.workflows.fake_activities import FakeActivities, PromotionStand, RoundStand
from workflows import ids
from workflows.feedback_round import FeedbackRoundWorkflow
from workflows.notifications import FEEDBACK_NOMINATE, PROMOTION_ENDORSE_NEEDED


@pytest.fixture
async def fakes() -> FakeActivities:
    return FakeActivities()


@pytest.fixture
async def worker(
    temporal_dev_env: WorkflowEnvironment, fakes: FakeActivities
) -> AsyncIterator[Worker]:
    activities = [*fakes.all(), *RoundStand().all(), *PromotionStand().all()]
    async with build_worker(
        temporal_dev_env.client, f"bridge-rounds-{uuid.uuid4()}", activities=activities
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


def round_started(cycle: str, subject: str) -> rounds_pb2.RoundStarted:
    today = date.today()
    return rounds_pb2.RoundStarted(
        meta=common_pb2.EventMeta(
            event_id=str(uuid.uuid4()), occurred_at="2026-12-03T02:00:00Z", producer="feedback"
        ),
        round_id=str(uuid.uuid4()),
        cycle_id=cycle,
        subject_id=subject,
        manager_id="emp-manager",
        nominations_due=(today + timedelta(days=5)).isoformat(),
        deadline=(today + timedelta(days=20)).isoformat(),
    )


async def test_round_started_starts_the_round_once(
    temporal_dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    client = temporal_dev_env.client
    cycle, subject = f"cyc-{uuid.uuid4().hex[:6]}", f"emp-{uuid.uuid4().hex[:6]}"
    event = round_started(cycle, subject)
    tq = worker.task_queue
    assert await handle_round_started(client, event, task_queue=tq) is Outcome.ROUND_STARTED
    assert await handle_round_started(client, event, task_queue=tq) is Outcome.ROUND_EXISTS
    handle = client.get_workflow_handle_for(
        FeedbackRoundWorkflow.run, ids.feedback_round(cycle, subject)
    )

    async def nominating() -> None:
        state = await handle.query(FeedbackRoundWorkflow.state)
        assert (state.round_id, state.phase, state.manager_id) == (
            event.round_id,
            "nominating",
            "emp-manager",
        )
        assert state.close_at

    await eventually(nominating)
    desc = await handle.describe()
    assert await desc.memo_value("title") == f"360 feedback round {event.round_id}"
    await handle.terminate("test over")
    # Even a finished (here: terminated) round's workflow is not started again.
    assert await handle_round_started(client, event, task_queue=tq) is Outcome.ROUND_EXISTS
    for broken in ("subject_id", "deadline"):
        bad = round_started(cycle, f"emp-{uuid.uuid4().hex[:6]}")
        setattr(bad, broken, "2026-02-30" if broken == "deadline" else "")
        with pytest.raises(InvalidEvent):
            await handle_round_started(client, bad, task_queue=tq)


async def test_the_bridge_starts_a_round_from_the_feedback_stream(
    temporal_dev_env: WorkflowEnvironment,
    nats_url: str,
    js: JetStreamContext,
    worker: Worker,
    fakes: FakeActivities,
) -> None:
    consumer = f"bridge-{uuid.uuid4().hex[:12]}"
    nc: Nats = await nats.connect(nats_url)
    bridge = EventBridge(
        nc.jetstream(),
        temporal_dev_env.client,
        task_queue=worker.task_queue,
        consumer=consumer,
        fetch_timeout=0.2,
    )
    await bridge.setup()
    feedback = await js.consumer_info(FEEDBACK_STREAM, f"{consumer}-feedback")
    assert set(feedback.config.filter_subjects or []) == {
        ROUND_STARTED_EVENT.subject,
        PROMOTION_APPLIED.subject,
    }
    assert (await js.consumer_info(GOALS_STREAM, consumer)).config.filter_subjects
    running = asyncio.create_task(bridge.run())
    cycle, subject = f"cyc-{uuid.uuid4().hex[:6]}", f"emp-{uuid.uuid4().hex[:6]}"
    client = temporal_dev_env.client
    try:
        event = round_started(cycle, subject)
        ack = await js.publish(
            ROUND_STARTED_EVENT.subject,
            event.SerializeToString(),
            headers={"Nats-Msg-Id": event.meta.event_id},
        )
        assert ack.stream == FEEDBACK_STREAM
        handle = client.get_workflow_handle(ids.feedback_round(cycle, subject))

        async def told_to_nominate() -> None:
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            told = [n for n in fakes.notifications(FEEDBACK_NOMINATE) if subject in n.key]
            assert [[m.recipient_id for m in n.messages] for n in told] == [[subject]]

        # The consumer also takes the round events other tests published before (from the
        # stream's start, as a new deployment's bridge does): allow for them.
        await eventually(told_to_nominate, timeout=90)

        case_id = f"case-{uuid.uuid4().hex[:8]}"
        applied = promotions_pb2.PromotionApplied(
            meta=common_pb2.EventMeta(
                event_id=str(uuid.uuid4()), occurred_at="2026-12-03T02:00:00Z", producer="feedback"
            ),
            case_id=case_id,
            candidate_id=subject,
            applicant_id=subject,
            current_grade="P4",
            target_grade="P5",
        )
        await js.publish(
            PROMOTION_APPLIED.subject,
            applied.SerializeToString(),
            headers={"Nats-Msg-Id": applied.meta.event_id},
        )
        review = client.get_workflow_handle(ids.promotion(case_id))

        async def asked_to_endorse() -> None:
            assert (await review.describe()).status == WorkflowExecutionStatus.RUNNING
            asked = [n for n in fakes.notifications(PROMOTION_ENDORSE_NEEDED) if case_id in n.key]
            assert [[m.recipient_id for m in n.messages] for n in asked] == [["emp-manager"]]

        await eventually(asked_to_endorse, timeout=90)

        async def settled() -> None:
            info = await js.consumer_info(FEEDBACK_STREAM, f"{consumer}-feedback")
            assert info.num_ack_pending == 0 and info.num_pending == 0, info

        await eventually(settled, timeout=90)
        await handle.terminate("test over")
        await review.terminate("test over")
    finally:
        bridge.stop()
        await asyncio.wait_for(running, 30)
        await nc.drain()
        # The rounds other tests' events started here end with the test.
        query = f'TaskQueue="{worker.task_queue}" AND ExecutionStatus="Running"'
        async for execution in client.list_workflows(query):
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(execution.id).terminate("test over")
