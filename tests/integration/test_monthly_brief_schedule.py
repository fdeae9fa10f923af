"""The Schedule ``report-monthly`` on a real Temporal dev server (the time-skipping server has
no schedules): created and updated idempotently, firing at 18:00 org time on the 24th..31st,
a pause surviving a worker restart."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from services.common.settings import WorkerSettings
from services.worker.schedules import ensure_monthly_brief_schedule
from workflows import ids

ZONE = "Asia/Shanghai"


@pytest.fixture
def client(temporal_dev_env: WorkflowEnvironment) -> Client:
    return temporal_dev_env.client


async def test_the_schedule_is_kept_idempotently_and_a_pause_survives(client: Client) -> None:
    queue = f"brief-{uuid.uuid4()}"
    settings = WorkerSettings(task_queue=queue, time_zone=ZONE)
    assert await ensure_monthly_brief_schedule(client, settings) == ids.MONTHLY_BRIEF_SCHEDULE
    handle = client.get_schedule_handle(ids.MONTHLY_BRIEF_SCHEDULE)
    described = await handle.describe()
    (cal,) = described.schedule.spec.calendars
    assert [(r.start, r.end) for r in cal.day_of_month] == [(24, 31)]
    assert [r.start for r in cal.hour] == [18] and [r.start for r in cal.minute] == [0]
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "MonthlyBriefWorkflow" and action.id == "report-monthly"
    for upcoming in described.info.next_action_times:
        local = upcoming.astimezone(ZoneInfo(ZONE))
        assert local.day >= 24 and (local.hour, local.minute) == (18, 0)

    await handle.pause(note="audit month")
    later = WorkerSettings(task_queue=queue, time_zone=ZONE, monthly_brief_at="17:30")
    assert await ensure_monthly_brief_schedule(client, later) == ids.MONTHLY_BRIEF_SCHEDULE
    described = await handle.describe()
    (cal,) = described.schedule.spec.calendars
    assert [r.start for r in cal.hour] == [17] and [r.start for r in cal.minute] == [30]
    assert described.schedule.state.paused and described.schedule.state.note == "audit month"
    assert await ensure_monthly_brief_schedule(client, WorkerSettings(monthly_brief_at="")) is None
    await handle.delete()
