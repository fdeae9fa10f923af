"""The event bridge against a real nats-server and a real Temporal dev server.

- pure parts: cycle end in UTC, decoding;
- ``handle_check_in_recorded`` with a real Temporal client and worker;
- the worker process (``services.worker.server.serve``) end to end: CheckInRecorded events
  published to JetStream start and drive ``kr-escalation/<kr>``; a redelivered event changes
  nothing; on-track resolves; cancellation shuts it down;
- the bridge's nak path: Temporal failing before and after accepting a signal (injected with a
  client interceptor in front of the real server) makes JetStream redeliver, and the
  redelivery changes nothing; an undecodable message is dropped without blocking the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from nats.aio.client import Client as Nats
from nats.js import JetStreamContext
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common import metrics
from services.common.binaries import free_port
from services.common.nats import GOALS_STREAM, ensure_streams
from services.common.settings import WorkerSettings
from services.common.temporal import connect as connect_temporal
from services.goals import server as goals_server
from services.goals.events import CHECKIN_RECORDED
from services.identity import server as identity_server
from services.worker.bridge import EventBridge, decode
from services.worker.handlers import (
    InvalidEvent,
    Outcome,
    cycle_end_utc,
    handle_blocker_resolved,
    handle_check_in_recorded,
)
from services.worker.server import serve
from services.worker.worker import build_worker
from stride.audit.v1 import audit_pb2, audit_pb2_grpc
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2
from stride.identity.v1 import identity_pb2_grpc
from tests.fakes.audit import DecisionLog
from tests.integration.services_fixtures import running, service_settings
from tests.integration.worker_stack import NO_QUIET_HOURS
from tests.otel import recorder
from tests.waiting import eventually
from tests.workflows.fake_activities import FakeActivities
from workflows import ids
from workflows.kr_escalation import EscalationState, KrEscalationWorkflow
from workflows.search_attributes import (
    STRIDE_CYCLE,
    STRIDE_DEPARTMENT,
    STRIDE_PHASE,
    STRIDE_RISK_LEVEL,
)

RISK = {
    "at_risk": goals_pb2.RISK_STATUS_AT_RISK,
    "behind": goals_pb2.RISK_STATUS_BEHIND,
    "on_track": goals_pb2.RISK_STATUS_ON_TRACK,
    "no_data": goals_pb2.RISK_STATUS_NO_DATA,
    "stale": goals_pb2.RISK_STATUS_STALE,
}


def check_in_recorded(
    kr: str,
    week: str,
    status: str,
    *,
    event_id: str | None = None,
    department: str = "dept-assembly",
    cycle_end_date: str = "2099-12-31",
    time_zone: str = "Asia/Shanghai",
) -> goals_pb2.CheckInRecorded:
    return goals_pb2.CheckInRecorded(
        meta=common_pb2.EventMeta(
            event_id=event_id or str(uuid.uuid4()),
            occurred_at="2026-11-23T02:00:00Z",
            producer="goals",
        ),
        check_in=goals_pb2.CheckIn(
            id=str(uuid.uuid4()),
            key_result_id=kr,
            week=week,
            value=12.0,
            confidence=4,
            recorded_at="2026-11-23T02:00:00Z",
            risk=goals_pb2.RiskAssessment(
                status=RISK[status],
                shortfall=0.4 if status == "at_risk" else 0.0,
                behind_streak=2 if status == "at_risk" else 0,
            ),
            revision=1,
        ),
        key_result=goals_pb2.KeyResult(
            id=kr,
            cycle_id="cycle-2026q4",
            owner_id="emp-0042",
            department_id=department,
            baseline=0,
            target=100,
        ),
        cycle_id="cycle-2026q4",
        cycle_end_date=cycle_end_date,
        time_zone=time_zone,
    )


async def signals_handled(handle: WorkflowHandle[Any, Any], count: int) -> EscalationState:
    """Wait until the workflow handled ``count`` signals; return its state then."""

    async def check() -> None:
        kinds = [e.WhichOneof("attributes") for e in (await handle.fetch_history()).events]
        signalled = [
            i for i, k in enumerate(kinds) if k == "workflow_execution_signaled_event_attributes"
        ]
        assert len(signalled) == count, f"{len(signalled)} signals, want {count}"
        assert "workflow_task_completed_event_attributes" in kinds[signalled[-1] :]

    await eventually(check)
    state: EscalationState = await handle.query(KrEscalationWorkflow.state)
    return state


def new_kr() -> str:
    return f"kr-{uuid.uuid4()}"


# --- pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end_date", "zone", "expected"),
    [
        ("2026-12-31", "Asia/Shanghai", "2026-12-31T16:00:00Z"),
        ("2026-06-30", "UTC", "2026-07-01T00:00:00Z"),
        # The last day ends in winter time / summer time around Europe's DST switch.
        ("2026-03-28", "Europe/Berlin", "2026-03-28T23:00:00Z"),
        ("2026-03-29", "Europe/Berlin", "2026-03-29T22:00:00Z"),
        ("2026-09-30", "America/New_York", "2026-10-01T04:00:00Z"),
    ],
)
def test_cycle_end_is_the_end_of_the_last_day_in_utc(
    end_date: str, zone: str, expected: str
) -> None:
    assert cycle_end_utc(end_date, zone) == expected


@pytest.mark.parametrize(
    ("end_date", "zone"),
    [("2026-13-01", "Asia/Shanghai"), ("", "Asia/Shanghai"), ("2026-12-31", "Mars/Olympus")],
)
def test_cycle_end_rejects_bad_input(end_date: str, zone: str) -> None:
    with pytest.raises(InvalidEvent):
        cycle_end_utc(end_date, zone)


def test_decode() -> None:
    event = check_in_recorded("kr-1", "2026-W48", "at_risk", event_id="evt-1")
    assert decode(CHECKIN_RECORDED.subject, event.SerializeToString()) == event
    with pytest.raises(InvalidEvent):
        decode(CHECKIN_RECORDED.subject, b"\xff\xff\xff not protobuf")


# --- the handler with a real Temporal -----------------------------------------------------


@pytest.fixture
async def worker(temporal_dev_env: WorkflowEnvironment) -> AsyncIterator[Worker]:
    decisions = DecisionLog()
    # The events name an owner: the escalation tells them (stand-in notify activities).
    fakes = FakeActivities()
    async with build_worker(
        temporal_dev_env.client,
        f"bridge-{uuid.uuid4()}",
        activities=[
            *decisions.activities(),
            fakes.notify,
            fakes.recipients,
            fakes.department_head,
            fakes.org_calendar,
            fakes.im_targets,
            fakes.notify_im,
            fakes.ladder_policy,
            fakes.skip_level_manager,
            fakes.hr_notice_recipients,
        ],
    ) as w:
        yield w


async def test_handler_starts_signals_and_ignores(
    temporal_dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    client = temporal_dev_env.client
    tq = worker.task_queue
    kr = new_kr()
    department = f"dept-{uuid.uuid4().hex[:8]}"

    # Nothing running yet: behind / no_data / on_track start nothing; neither does stale (a
    # silent machine source is not a key result at risk).
    for status in ("behind", "no_data", "stale"):
        event = check_in_recorded(kr, "2026-W46", status, department=department)
        assert await handle_check_in_recorded(client, event, task_queue=tq) is Outcome.IGNORED
    event = check_in_recorded(kr, "2026-W46", "on_track", department=department)
    assert await handle_check_in_recorded(client, event, task_queue=tq) is Outcome.NO_ESCALATION
    with pytest.raises(RPCError) as not_found:
        await client.get_workflow_handle(ids.kr_escalation(kr)).describe()
    assert not_found.value.status == RPCStatusCode.NOT_FOUND

    # At risk: signal-with-start.
    event = check_in_recorded(kr, "2026-W47", "at_risk", department=department)
    assert await handle_check_in_recorded(client, event, task_queue=tq) is Outcome.ESCALATED
    handle = client.get_workflow_handle_for(KrEscalationWorkflow.run, ids.kr_escalation(kr))
    state = await signals_handled(handle, 1)
    assert (state.level, state.level_name, state.at_risk_weeks) == (1, "warning", ["2026-W47"])
    desc = await handle.describe()
    assert desc.task_queue == tq
    sa = desc.typed_search_attributes
    assert sa.get(STRIDE_CYCLE) == "cycle-2026q4"
    assert sa.get(STRIDE_DEPARTMENT) == department
    assert sa.get(STRIDE_PHASE) == "escalation"
    assert sa.get(STRIDE_RISK_LEVEL) == "warning"
    # No personal data in what ops see: the owner's id is nowhere in the attributes.
    assert "emp-0042" not in repr(sa)

    # Ops can find it with a visibility query on the search attributes.
    async def listed() -> None:
        query = f'StrideDepartment = "{department}" AND StrideRiskLevel = "warning"'
        found = [wf.id async for wf in client.list_workflows(query)]
        assert found == [ids.kr_escalation(kr)]

    await eventually(listed)

    # At risk again next week: signal-with-start signals the running one.
    event = check_in_recorded(kr, "2026-W48", "at_risk", department=department)
    assert await handle_check_in_recorded(client, event, task_queue=tq) is Outcome.ESCALATED
    state = await signals_handled(handle, 2)
    assert (state.level, state.level_name) == (2, "red")

    # Back on track: resolves; afterwards there is nothing to signal.
    event = check_in_recorded(kr, "2026-W49", "on_track", department=department)
    assert await handle_check_in_recorded(client, event, task_queue=tq) is Outcome.SIGNALLED
    result = await handle.result()
    assert (result.status, result.level) == ("resolved", 2)
    event = check_in_recorded(kr, "2026-W50", "on_track", department=department)
    assert await handle_check_in_recorded(client, event, task_queue=tq) is Outcome.NO_ESCALATION


async def test_a_blocker_naming_another_department_starts_a_red_escalation(
    temporal_dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    client, tq = temporal_dev_env.client, worker.task_queue
    kr = new_kr()

    def resolved(blocker_id: str) -> goals_pb2.BlockerResolved:
        return goals_pb2.BlockerResolved(
            meta=common_pb2.EventMeta(event_id=str(uuid.uuid4()), producer="goals"),
            blocker=goals_pb2.DepartmentBlocker(id=blocker_id, key_result_id=kr),
        )

    # Nothing running: a resolved blocker has nobody to tell.
    assert await handle_blocker_resolved(client, resolved("blk-1")) is Outcome.NO_ESCALATION
    # A behind week naming its own department is nothing for an escalation.
    own = check_in_recorded(kr, "2026-W47", "behind", department="dept-assembly")
    own.check_in.blockers.add(text="Fixture worn", department_id="dept-assembly", id="blk-0")
    assert await handle_check_in_recorded(client, own, task_queue=tq) is Outcome.IGNORED
    # Naming purchasing: signal-with-start, red at once.
    event = check_in_recorded(kr, "2026-W47", "behind", department="dept-assembly")
    event.check_in.blockers.add(text="Bearings", department_id="dept-purchasing", id="blk-1")
    assert await handle_check_in_recorded(client, event, task_queue=tq) is Outcome.ESCALATED
    handle = client.get_workflow_handle_for(KrEscalationWorkflow.run, ids.kr_escalation(kr))
    state = await signals_handled(handle, 1)
    assert (state.level_name, state.at_risk_weeks) == ("red", [])
    sa = (await handle.describe()).typed_search_attributes
    assert sa.get(STRIDE_RISK_LEVEL) == "red"
    assert await handle_blocker_resolved(client, resolved("blk-1")) is Outcome.BLOCKER_RESOLVED
    await signals_handled(handle, 2)
    await handle.terminate("test over")


async def test_handler_rejects_events_it_can_never_handle(
    temporal_dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    client = temporal_dev_env.client
    no_id = check_in_recorded(new_kr(), "2026-W47", "at_risk", event_id="")
    no_id.meta.event_id = ""
    no_end = check_in_recorded(new_kr(), "2026-W47", "at_risk", cycle_end_date="")
    bad_zone = check_in_recorded(new_kr(), "2026-W47", "at_risk", time_zone="Mars/Olympus")
    for event in (no_id, no_end, bad_zone):
        with pytest.raises(InvalidEvent):
            await handle_check_in_recorded(client, event, task_queue=worker.task_queue)


async def test_handler_uses_the_default_time_zone_when_the_event_has_none(
    temporal_dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    client = temporal_dev_env.client
    kr = new_kr()
    event = check_in_recorded(kr, "2026-W47", "at_risk", cycle_end_date="2099-12-31", time_zone="")
    await handle_check_in_recorded(
        client, event, task_queue=worker.task_queue, default_time_zone="Europe/Berlin"
    )
    handle = client.get_workflow_handle(ids.kr_escalation(kr))
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert b"2099-12-31T23:00:00Z" in started.input.payloads[0].data
    await handle.terminate("test over")


# --- the worker process end to end --------------------------------------------------------


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc: Nats = await nats.connect(nats_url)
    try:
        jsc = nc.jetstream()
        await ensure_streams(jsc)
        yield jsc
    finally:
        await nc.drain()


async def publish(js: JetStreamContext, event: goals_pb2.CheckInRecorded, msg_id: str) -> bool:
    """Publish like the goals outbox relay does; True when JetStream took it as new."""
    ack = await js.publish(
        CHECKIN_RECORDED.subject, event.SerializeToString(), headers={"Nats-Msg-Id": msg_id}
    )
    assert ack.stream == GOALS_STREAM
    return not ack.duplicate


async def consumer_settled(js: JetStreamContext, consumer: str) -> None:
    """Every message delivered to ``consumer`` so far has been acked (or terminated)."""

    async def check() -> None:
        info = await js.consumer_info(GOALS_STREAM, consumer)
        assert info.num_ack_pending == 0, info
        assert info.num_pending == 0, info

    await eventually(check, timeout=30)


async def test_worker_process_turns_check_in_events_into_an_escalation(
    temporal_dev_env: WorkflowEnvironment,
    nats_url: str,
    js: JetStreamContext,
    database_url: str | None,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The worker records the escalation's decisions with identity (its activities read the
    # STRIDE_* environment, like the real process), and its bridge asks goals whether the
    # approvals other tests left on the shared stream are pending (unknown here: skipped).
    prefix = f"b{uuid.uuid4().hex[:8]}_"
    identity = identity_server.runtime(
        service_settings(database_url, data_dir, nats_url, schema_prefix=prefix)
    )
    async with running(identity) as identity_channel:
        goals = goals_server.runtime(
            service_settings(
                database_url,
                data_dir,
                nats_url,
                identity_addr=f"127.0.0.1:{identity.port}",
                schema_prefix=prefix,
            )
        )
        async with running(goals):
            # No quiet hours: the escalation's notices must not wait for the morning.
            await identity_pb2_grpc.IdentityServiceStub(identity_channel).PutNotificationPolicy(
                NO_QUIET_HOURS
            )
            monkeypatch.setenv("STRIDE_IDENTITY_ADDR", f"127.0.0.1:{identity.port}")
            monkeypatch.setenv("STRIDE_GOALS_ADDR", f"127.0.0.1:{goals.port}")
            await _worker_process_escalates(temporal_dev_env, nats_url, js, identity_channel)


async def _worker_process_escalates(
    temporal_dev_env: WorkflowEnvironment,
    nats_url: str,
    js: JetStreamContext,
    identity_channel: grpc.aio.Channel,
) -> None:
    client = temporal_dev_env.client
    settings = WorkerSettings(
        nats_url=nats_url,
        temporal_address=client.service_client.config.target_host,
        temporal_namespace=client.namespace,
        task_queue=f"worker-{uuid.uuid4()}",
        bridge_consumer=f"bridge-{uuid.uuid4().hex[:12]}",
    )
    server = asyncio.create_task(serve(settings))
    kr = new_kr()
    handle = client.get_workflow_handle_for(KrEscalationWorkflow.run, ids.kr_escalation(kr))
    try:
        first = check_in_recorded(kr, "2026-W47", "at_risk")
        assert await publish(js, first, first.meta.event_id)
        state = await signals_handled(handle, 1)
        assert (state.level, state.level_name, state.status) == (1, "warning", "active")
        assert (await handle.describe()).task_queue == settings.task_queue

        # The relay re-publishing under the same Nats-Msg-Id is dropped by JetStream itself;
        # the same event under a new message id reaches the workflow, which ignores it.
        assert not await publish(js, first, first.meta.event_id)
        assert await publish(js, first, f"{first.meta.event_id}-again")
        state = await signals_handled(handle, 2)
        assert (state.level, state.at_risk_weeks) == (1, ["2026-W47"])

        # A re-submitted check-in of the same week (new event) does not raise the level either.
        resubmitted = check_in_recorded(kr, "2026-W47", "at_risk")
        assert await publish(js, resubmitted, resubmitted.meta.event_id)
        state = await signals_handled(handle, 3)
        assert state.level == 1

        # A new at-risk week raises it; behind changes nothing (and is not even signalled).
        for event in (
            check_in_recorded(kr, "2026-W48", "at_risk"),
            check_in_recorded(kr, "2026-W49", "behind"),
        ):
            assert await publish(js, event, event.meta.event_id)
        state = await signals_handled(handle, 4)
        assert (state.level, state.level_name) == (2, "red")

        on_track = check_in_recorded(kr, "2026-W50", "on_track")
        assert await publish(js, on_track, on_track.meta.event_id)
        result = await asyncio.wait_for(handle.result(), 30)
        assert (result.status, result.level, result.at_risk_weeks) == (
            "resolved",
            2,
            ["2026-W47", "2026-W48"],
        )
        await consumer_settled(js, settings.bridge_consumer)
        # The memo names it for the Temporal UI; its decisions are in the audit trail.
        assert await (await handle.describe()).memo_value("title") == f"KR escalation {kr}"
        audit = audit_pb2_grpc.AuditServiceStub(identity_channel)
        request = audit_pb2.ListAuditEntriesRequest(actor=f"workflow:{ids.kr_escalation(kr)}")
        for _ in range(100):
            entries = (await audit.ListAuditEntries(request)).entries
            if len(entries) >= 3:
                break
            await asyncio.sleep(0.1)
        assert [(e.action, e.detail.split(" (")[0]) for e in reversed(entries)] == [
            ("worker.kr_escalation.level_changed", "level none -> warning"),
            ("worker.kr_escalation.level_changed", "level warning -> red"),
            ("worker.kr_escalation.closed", "resolved at level red"),
        ]
        assert {e.resource_id for e in entries} == {kr}
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(server, 60)
    # Shut down cleanly: the durable consumer stays, with nothing left unacknowledged.
    info = await js.consumer_info(GOALS_STREAM, settings.bridge_consumer)
    assert info.num_ack_pending == 0


async def test_worker_waits_for_temporal_to_come_up(temporal_dev_env: WorkflowEnvironment) -> None:
    # Nothing listens yet: it keeps trying for `wait` seconds, then gives up with the error.
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(RuntimeError):
        await connect_temporal(
            WorkerSettings(temporal_address=f"127.0.0.1:{free_port()}"),
            identity="stride-worker",
            wait=1.0,
        )
    assert loop.time() - began >= 1.0
    # Up: connects.
    target = temporal_dev_env.client.service_client.config.target_host
    client = await connect_temporal(
        WorkerSettings(temporal_address=target), identity="stride-worker", wait=5.0
    )
    assert await client.service_client.check_health()


class FlakyTemporal(Interceptor):
    """Fails chosen signal-with-start calls once with UNAVAILABLE: before the server saw the
    call, or after it accepted it (the answer lost on the way back)."""

    def __init__(self) -> None:
        self.fail_before: set[str] = set()
        self.fail_after: set[str] = set()
        self.calls: Counter[str] = Counter()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _FlakyOutbound(next, self)


class _FlakyOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, root: FlakyTemporal) -> None:
        super().__init__(next)
        self.root = root

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        if not input.start_signal_args:  # a plain start (cycle.created from other tests)
            return await super().start_workflow(input)
        event_id = input.start_signal_args[0].event_id
        self.root.calls[event_id] += 1
        if event_id in self.root.fail_before:
            self.root.fail_before.discard(event_id)
            raise RPCError("injected: unavailable", RPCStatusCode.UNAVAILABLE, b"")
        handle = await super().start_workflow(input)
        if event_id in self.root.fail_after:
            self.root.fail_after.discard(event_id)
            raise RPCError("injected: answer lost", RPCStatusCode.UNAVAILABLE, b"")
        return handle


async def test_failed_deliveries_are_nakd_redelivered_and_applied_once(
    temporal_dev_env: WorkflowEnvironment, nats_url: str, js: JetStreamContext, worker: Worker
) -> None:
    rec = recorder()
    flaky = FlakyTemporal()
    real = temporal_dev_env.client
    client = Client(real.service_client, namespace=real.namespace, interceptors=[flaky])
    consumer = f"bridge-{uuid.uuid4().hex[:12]}"
    nc: Nats = await nats.connect(nats_url)
    bridge = EventBridge(
        nc.jetstream(),
        client,
        task_queue=worker.task_queue,
        consumer=consumer,
        retry_base_delay=0.2,
        fetch_timeout=0.2,
    )
    await bridge.setup()
    running = asyncio.create_task(bridge.run())
    kr = new_kr()
    handle = real.get_workflow_handle_for(KrEscalationWorkflow.run, ids.kr_escalation(kr))
    try:
        lost_answer = check_in_recorded(kr, "2026-W47", "at_risk")
        unavailable = check_in_recorded(kr, "2026-W48", "at_risk")
        flaky.fail_after.add(lost_answer.meta.event_id)
        flaky.fail_before.add(unavailable.meta.event_id)
        # An undecodable message in between must not block the stream.
        await js.publish(
            CHECKIN_RECORDED.subject, b"\xff garbage", headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
        for event in (lost_answer, unavailable):
            assert await publish(js, event, event.meta.event_id)

        async def both_delivered_twice() -> None:
            assert flaky.calls[lost_answer.meta.event_id] == 2
            assert flaky.calls[unavailable.meta.event_id] == 2

        await eventually(both_delivered_twice)
        # Temporal saw the first event twice (accepted, then redelivered) and the second once.
        state = await signals_handled(handle, 3)
        assert state.level == 2
        assert sorted(state.at_risk_weeks) == ["2026-W47", "2026-W48"]
        await consumer_settled(js, consumer)
        # The metrics ops alert on: two failed attempts, each event handled on a redelivery
        # (a later event of the key result may be held back once more), one dropped message.
        subject = CHECKIN_RECORDED.subject
        assert rec.value(metrics.EVENTS_CONSUMED, consumer=consumer, outcome="retry") == 2
        assert rec.value(metrics.EVENTS_REDELIVERED, consumer=consumer, subject=subject) >= 2
        # (The new consumer also reads what earlier tests left on the stream.)
        assert rec.value(metrics.EVENTS_CONSUMED, consumer=consumer, outcome="dropped") >= 1
        assert rec.value(metrics.EVENTS_CONSUMED, consumer=consumer, outcome="escalated") >= 2
    finally:
        bridge.stop()
        await asyncio.wait_for(running, 30)
        await nc.drain()
        desc = await handle.describe()
        if desc.status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test over")


async def test_a_goals_event_does_not_wait_for_an_idle_streams_fetch(
    temporal_dev_env: WorkflowEnvironment, nats_url: str, js: JetStreamContext, worker: Worker
) -> None:
    """The bridge follows STRIDE_GOALS and STRIDE_FEEDBACK; with nothing on the feedback
    stream, its fetch only returns at the fetch timeout. A check-in event must be handed to
    Temporal when it arrives, not when that fetch gives up (it waited for it before: up to
    the whole timeout, about a second with the default, on every goals event)."""
    fetch_timeout = 4.0
    consumer = f"bridge-{uuid.uuid4().hex[:12]}"
    nc: Nats = await nats.connect(nats_url)
    client = temporal_dev_env.client
    bridge = EventBridge(
        nc.jetstream(),
        client,
        task_queue=worker.task_queue,
        consumer=consumer,
        fetch_timeout=fetch_timeout,
    )
    await bridge.setup()
    running = asyncio.create_task(bridge.run())
    handles = []
    try:
        await consumer_settled(js, consumer)  # what earlier tests left on the stream
        loop = asyncio.get_running_loop()
        waited = []
        for week in ("2026-W45", "2026-W46", "2026-W47"):
            kr = new_kr()
            handle = client.get_workflow_handle_for(KrEscalationWorkflow.run, ids.kr_escalation(kr))
            handles.append(handle)
            event = check_in_recorded(kr, week, "at_risk")
            sent = loop.time()
            assert await publish(js, event, event.meta.event_id)
            await signals_handled(handle, 1)
            waited.append(loop.time() - sent)
        # Each one well within the feedback fetch's timeout (milliseconds, in practice).
        assert max(waited) < fetch_timeout / 2, waited
    finally:
        bridge.stop()
        await asyncio.wait_for(running, 30)
        await nc.drain()
        for handle in handles:
            with contextlib.suppress(RPCError):
                await handle.terminate("test over")
