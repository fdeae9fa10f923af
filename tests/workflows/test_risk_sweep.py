"""``risk-sweep/<week>`` on the time-skipping server with a stand-in for goals' SweepRisk:
the batches in order until the last, a failed batch retried, a refused one failing the run, a
scheduled run sweeping last week as its child (once), and a holiday Monday moving it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import build_worker
from tests.workflows.fake_activities import FakeActivities, SweepStand
from workflows import ids
from workflows.calendar import WorkCalendar, local_date, next_working_day_at
from workflows.risk_sweep import (
    PHASE_DONE,
    PHASE_FAILED,
    STATUS_ALREADY_SWEPT,
    STATUS_DONE,
    RiskSweepInput,
    RiskSweepReport,
    RiskSweepWorkflow,
    last_week,
)
from workflows.search_attributes import STRIDE_PHASE

ZONE = "Asia/Shanghai"


@pytest.fixture
def fakes() -> FakeActivities:
    return FakeActivities()


def worker_for(client: Client, goals: SweepStand, fakes: FakeActivities):  # type: ignore[no-untyped-def]
    return build_worker(client, f"sweep-{uuid.uuid4()}", activities=[goals.sweep, *fakes.all()])


async def test_batches_run_in_order_and_a_failed_one_is_retried(
    client: Client, fakes: FakeActivities
) -> None:
    goals = SweepStand(
        ["at_risk", "behind", "skip", "on_track", "skip", "at_risk", "behind"],
        fail_batches={2: 1},
    )
    week = "2026-W48"
    async with worker_for(client, goals, fakes) as worker:
        handle = await client.start_workflow(
            RiskSweepWorkflow.run,
            RiskSweepInput(week=week, batch_size=3),
            id=ids.risk_sweep(f"{week}-{uuid.uuid4().hex[:6]}"),
            task_queue=worker.task_queue,
        )
        report = await handle.result()
        phase = (await handle.describe()).typed_search_attributes.get(STRIDE_PHASE)
    assert report == RiskSweepReport(
        week=week,
        status=STATUS_DONE,
        phase=PHASE_DONE,
        batches=3,
        examined=7,
        swept=5,
        at_risk=2,
        behind=2,
        on_track=1,
        skipped=2,
    )
    assert phase == PHASE_DONE
    # Batch 2 failed once and was retried with the same page token; nothing was skipped.
    assert [(c.page_token, attempt) for c, attempt, _ in goals.calls] == [
        ("", 1),
        ("3", 1),
        ("3", 2),
        ("6", 1),
    ]


async def test_a_refused_batch_fails_the_run(client: Client, fakes: FakeActivities) -> None:
    goals = SweepStand(["at_risk"], refuse=True)
    async with worker_for(client, goals, fakes) as worker:
        handle = await client.start_workflow(
            RiskSweepWorkflow.run,
            RiskSweepInput(week="2026-W48"),
            id=ids.risk_sweep(f"2026-W48-{uuid.uuid4().hex[:6]}"),
            task_queue=worker.task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        report = await handle.query(RiskSweepWorkflow.report)
    assert "invalid_week" in str(failed.value.cause)
    assert len(goals.calls) == 1  # refused: not retried
    assert (report.status, report.phase) == ("failed", PHASE_FAILED)


async def test_a_scheduled_run_sweeps_last_week_once_as_its_child(
    temporal_env: WorkflowEnvironment, client: Client, fakes: FakeActivities
) -> None:
    goals = SweepStand(["at_risk", "behind"])
    # A zone of its own keeps this test's risk-sweep/<week> apart from other runs'.
    zone = "Pacific/Chatham"
    # The clock stands still between the two runs (both see the same last week).
    with temporal_env.auto_time_skipping_disabled():
        await _scheduled_twice(temporal_env, client, goals, fakes, zone)


async def _scheduled_twice(
    temporal_env: WorkflowEnvironment,
    client: Client,
    goals: SweepStand,
    fakes: FakeActivities,
    zone: str,
) -> None:
    async with worker_for(client, goals, fakes) as worker:
        now = await temporal_env.get_current_time()
        # Today a working day (the holiday test covers the other case).
        fakes.working_days = [local_date(now, zone).isoformat()]
        week = last_week(local_date(now, zone))
        first = await client.execute_workflow(
            RiskSweepWorkflow.run,
            RiskSweepInput(time_zone=zone),
            id=f"risk-sweep-{uuid.uuid4().hex[:6]}",
            task_queue=worker.task_queue,
        )
        assert (first.week, first.status, first.swept, first.at_risk) == (week, STATUS_DONE, 2, 1)
        child = await client.get_workflow_handle(ids.risk_sweep(week)).describe()
        assert child.typed_search_attributes.get(STRIDE_PHASE) == PHASE_DONE
        # The schedule catching up (or firing twice): the week is not swept again.
        again = await client.execute_workflow(
            RiskSweepWorkflow.run,
            RiskSweepInput(time_zone=zone),
            id=f"risk-sweep-{uuid.uuid4().hex[:6]}",
            task_queue=worker.task_queue,
        )
    assert (again.week, again.status, again.swept) == (week, STATUS_ALREADY_SWEPT, 0)
    assert len(goals.calls) == 1


async def test_a_scheduled_run_on_a_holiday_waits_for_the_first_working_day(
    temporal_env: WorkflowEnvironment, client: Client, fakes: FakeActivities
) -> None:
    goals = SweepStand(["at_risk"])
    zone = "America/Sao_Paulo"
    async with worker_for(client, goals, fakes) as worker:
        now = await temporal_env.get_current_time()
        today = local_date(now, zone)
        fakes.holidays = [today.isoformat()]
        fakes.working_days = []
        handle = await client.start_workflow(
            RiskSweepWorkflow.run,
            RiskSweepInput(time_zone=zone),
            id=f"risk-sweep-{uuid.uuid4().hex[:6]}",
            task_queue=worker.task_queue,
        )
        report = await handle.result()
        closed = (await handle.describe()).close_time
    # Still the week before the scheduled day, swept (or found swept by the test before) only
    # on the first working day, at the scheduled time of day.
    assert report.week == last_week(today)
    assert report.status in (STATUS_DONE, STATUS_ALREADY_SWEPT)
    due = next_working_day_at(now, zone, WorkCalendar.of([today.isoformat()], []))
    assert due > now + timedelta(hours=12)
    assert closed is not None and closed >= due - timedelta(seconds=1)
    assert all(at >= due - timedelta(seconds=1) for _c, _a, at in goals.calls)


async def test_bad_week_fails_the_run_at_once(client: Client, fakes: FakeActivities) -> None:
    goals = SweepStand([])
    async with worker_for(client, goals, fakes) as worker:
        with pytest.raises(WorkflowFailureError) as failed:
            await client.execute_workflow(
                RiskSweepWorkflow.run,
                RiskSweepInput(week="2026-48"),
                id=ids.risk_sweep(f"bad-{uuid.uuid4().hex[:6]}"),
                task_queue=worker.task_queue,
            )
    assert "not an ISO week" in str(failed.value.cause)
    assert goals.calls == []
