"""The weekly Schedule ``risk-sweep`` on a real Temporal dev server (the time-skipping server
has no schedules), driving the real ``risk_sweep_batch`` activity against the real goals
service: created and updated idempotently (a pause survives a worker restart), and a
triggered run sweeps last week — a silent key result that was behind becomes at risk."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
)
from temporalio.testing import WorkflowEnvironment

from activities.risk_sweep import RiskSweepActivities
from services.common.settings import WorkerSettings
from services.goals import server as goals_server
from services.goals.calendar import local_today
from services.identity import server as identity_server
from services.worker.schedules import ensure_risk_sweep_schedule
from services.worker.worker import build_worker
from stride.goals.v1 import goals_pb2 as pb
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2 as ipb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.services_fixtures import running, service_settings
from tests.waiting import eventually
from tests.workflows.fake_activities import FakeActivities
from workflows import ids
from workflows.risk_sweep import STATUS_DONE, RiskSweepWorkflow
from workflows.vocabulary import week_of

ZONE = "Asia/Shanghai"


@pytest.fixture
def client(temporal_dev_env: WorkflowEnvironment) -> Client:
    return temporal_dev_env.client


@pytest.fixture
async def goals(
    database_url: str | None, data_dir: Path, nats_url: str
) -> AsyncIterator[
    tuple[identity_pb2_grpc.IdentityServiceStub, goals_pb2_grpc.GoalsServiceStub, str]
]:
    identity_rt = identity_server.runtime(service_settings(database_url, data_dir, nats_url))
    async with running(identity_rt) as identity_channel:
        goals_rt = goals_server.runtime(
            service_settings(
                database_url, data_dir, nats_url, identity_addr=f"127.0.0.1:{identity_rt.port}"
            )
        )
        async with running(goals_rt) as goals_channel:
            yield (
                identity_pb2_grpc.IdentityServiceStub(identity_channel),
                goals_pb2_grpc.GoalsServiceStub(goals_channel),
                f"127.0.0.1:{goals_rt.port}",
            )


async def test_the_schedule_is_kept_idempotently_and_a_pause_survives(client: Client) -> None:
    queue = f"risk-sweep-{uuid.uuid4()}"
    settings = WorkerSettings(task_queue=queue, time_zone=ZONE)
    assert await ensure_risk_sweep_schedule(client, settings) == ids.RISK_SWEEP_SCHEDULE
    handle = client.get_schedule_handle(ids.RISK_SWEEP_SCHEDULE)
    described = await handle.describe()
    (cal,) = described.schedule.spec.calendars
    assert [r.start for r in cal.day_of_week] == [1]  # Monday
    assert [r.start for r in cal.hour] == [12] and [r.start for r in cal.minute] == [0]
    assert described.schedule.spec.time_zone_name == ZONE
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "RiskSweepWorkflow" and action.id == "risk-sweep"
    # The next run: a Monday at 12:00 in the organisation's zone.
    (upcoming, *_) = described.info.next_action_times
    local = upcoming.astimezone(ZoneInfo(ZONE))
    assert (local.weekday(), local.hour, local.minute) == (0, 12, 0)

    await handle.pause(note="year-end freeze")
    later = WorkerSettings(task_queue=queue, time_zone=ZONE, risk_sweep_at="13:30")
    assert await ensure_risk_sweep_schedule(client, later) == ids.RISK_SWEEP_SCHEDULE
    described = await handle.describe()
    (cal,) = described.schedule.spec.calendars
    assert [r.start for r in cal.hour] == [13] and [r.start for r in cal.minute] == [30]
    assert described.schedule.state.paused and described.schedule.state.note == "year-end freeze"
    # Switched off in the settings: the worker leaves the schedule as it is.
    assert await ensure_risk_sweep_schedule(client, WorkerSettings(risk_sweep_at="")) is None
    await handle.delete()


async def test_a_triggered_sweep_turns_a_silent_lagging_key_result_at_risk(
    client: Client, goals
) -> None:
    identity, stub, address = goals
    today = local_today(datetime.now(UTC), ZONE)
    last_week, week_before = week_of(today - timedelta(days=7)), week_of(today - timedelta(days=14))
    tag = uuid.uuid4().hex[:6]
    dept = await identity.CreateDepartment(ipb.CreateDepartmentRequest(name=f"Stamping {tag}"))
    owner = await identity.CreateEmployee(
        ipb.CreateEmployeeRequest(employee_number=f"S{tag}", name="Li Lei", department_id=dept.id)
    )
    cycle = await stub.CreateCycle(
        pb.CreateCycleRequest(
            name=f"Now {tag}",
            start_date=(today - timedelta(days=42)).isoformat(),
            end_date=(today + timedelta(days=42)).isoformat(),
            time_zone=ZONE,
        )
    )
    objective = await stub.CreateObjective(
        pb.CreateObjectiveRequest(cycle_id=cycle.id, title="Fewer stoppages", owner_id=owner.id)
    )
    kr = await stub.CreateKeyResult(
        pb.CreateKeyResultRequest(
            objective_id=objective.id, title="Press uptime", baseline=0, target=100, unit="%"
        )
    )
    lagging = await stub.RecordCheckIn(
        pb.RecordCheckInRequest(key_result_id=kr.id, value=5, confidence=3, week=week_before)
    )
    assert lagging.risk.status == pb.RISK_STATUS_BEHIND

    queue = f"risk-sweep-{uuid.uuid4()}"
    settings = WorkerSettings(task_queue=queue, time_zone=ZONE, goals_addr=address)
    fakes = FakeActivities(working_days=[today.isoformat()])  # today counts as a working day
    await ensure_risk_sweep_schedule(client, settings)
    schedule = client.get_schedule_handle(ids.RISK_SWEEP_SCHEDULE)
    activities = [RiskSweepActivities(settings).sweep_batch, fakes.org_calendar]
    try:
        async with build_worker(client, queue, activities=activities):
            await schedule.trigger()

            async def started() -> str:
                recent = (await schedule.describe()).info.recent_actions
                assert recent, "the schedule has not started a run yet"
                action = recent[-1].action
                assert isinstance(action, ScheduleActionExecutionStartWorkflow)
                return action.workflow_id

            run_id = await eventually(started)
            assert run_id.startswith("risk-sweep-")
            run = client.get_workflow_handle_for(RiskSweepWorkflow.run, run_id)
            report = await run.result()
    finally:
        await schedule.delete()
    assert report.week == last_week and report.status == STATUS_DONE
    assert report.swept >= 1 and report.at_risk >= 1
    child = await client.get_workflow_handle(ids.risk_sweep(last_week)).describe()
    assert child.status is not None and child.status.name == "COMPLETED"

    swept = await stub.GetKeyResult(pb.GetKeyResultRequest(id=kr.id))
    assert swept.risk.status == pb.RISK_STATUS_AT_RISK and swept.risk.behind_streak == 2
    assert swept.last_check_in_week == week_before and swept.current_value == 5
