"""The hourly Schedules org-sync/<source> on a real Temporal dev server (the time-skipping
test server does not implement schedules)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.settings import WorkerSettings
from services.identity.sync.schedules import ensure_org_sync_schedules, start_org_sync
from tests.fakes.audit import DecisionLog
from tests.unit.test_org_sync_workflow import Stand
from workflows.org_sync import OrgSyncWorkflow


@pytest.fixture
def client(temporal_dev_env: WorkflowEnvironment) -> Client:
    """The session's dev server (the time-skipping server has no schedules)."""
    return temporal_dev_env.client


async def test_schedules_are_created_idempotently_and_start_the_workflow(client: Client) -> None:
    queue = f"org-sync-{uuid.uuid4()}"
    settings = WorkerSettings(task_queue=queue, org_sync_sources="dingtalk, json")
    assert await ensure_org_sync_schedules(client, settings) == [
        "org-sync/dingtalk",
        "org-sync/json",
    ]
    described = await client.get_schedule_handle("org-sync/dingtalk").describe()
    assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "OrgSyncWorkflow" and action.id == "org-sync/dingtalk"
    assert action.task_queue == queue

    # Again, with a new interval: updated in place, no error, no second schedule.
    settings = WorkerSettings(
        task_queue=queue, org_sync_sources="dingtalk", org_sync_interval_minutes=30
    )
    assert await ensure_org_sync_schedules(client, settings) == ["org-sync/dingtalk"]
    described = await client.get_schedule_handle("org-sync/dingtalk").describe()
    assert described.schedule.spec.intervals[0].every == timedelta(minutes=30)

    # Triggered now, the schedule starts org-sync/dingtalk-<time>, which runs to its report.
    stand = Stand(batches=1)
    decisions = DecisionLog()
    async with Worker(
        client,
        task_queue=queue,
        workflows=[OrgSyncWorkflow],
        activities=[stand.begin, stand.plan, stand.apply, stand.fail, decisions.record_decision],
    ):
        await client.get_schedule_handle("org-sync/dingtalk").trigger()
        deadline = time.monotonic() + 20
        while not stand.apply_calls:
            assert time.monotonic() < deadline, "the schedule did not start the sync"
            await asyncio.sleep(0.1)
        recent = (await client.get_schedule_handle("org-sync/dingtalk").describe()).info
        started = recent.recent_actions[-1].action
        assert isinstance(started, ScheduleActionExecutionStartWorkflow)
        assert started.workflow_id.startswith("org-sync/dingtalk-")
        scheduled = client.get_workflow_handle_for(OrgSyncWorkflow.run, started.workflow_id)
        report = await scheduled.result()
        assert report.status == "applied" and report.source == "dingtalk"

        # On demand: `stride org sync` joins a run of the same source that is still going.
        stand.gate = asyncio.Event()
        first = await start_org_sync(client, "json", task_queue=queue)
        second = await start_org_sync(client, "json", task_queue=queue)
        assert first.id == second.id == "org-sync/json"
        assert first.result_run_id == second.result_run_id
        stand.gate.set()
        report = await second.result()
        assert report.status == "applied" and report.source == "json"
        # Once it has finished, the next on-demand sync is a new run.
        third = await start_org_sync(client, "json", task_queue=queue)
        assert third.result_run_id != first.result_run_id
        await third.result()
    for sid in ("org-sync/dingtalk", "org-sync/json"):
        await client.get_schedule_handle(sid).delete()


async def test_a_paused_schedule_stays_paused_when_the_worker_restarts(client: Client) -> None:
    source = f"pause{uuid.uuid4().hex[:8]}"
    settings = WorkerSettings(task_queue=f"org-sync-{uuid.uuid4()}", org_sync_sources=source)
    (sid,) = await ensure_org_sync_schedules(client, settings)
    handle = client.get_schedule_handle(sid)
    try:
        # What the runbook says: `temporal schedule toggle --pause --reason ...`.
        await handle.pause(note="HR restructuring, INC-1")
        # A worker (re)start updates the schedule with the configured interval...
        settings = WorkerSettings(
            task_queue=settings.task_queue, org_sync_sources=source, org_sync_interval_minutes=20
        )
        await ensure_org_sync_schedules(client, settings)
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(minutes=20)
        # ...and leaves it paused, with the operator's note.
        assert described.schedule.state.paused
        assert described.schedule.state.note == "HR restructuring, INC-1"
    finally:
        await handle.delete()
