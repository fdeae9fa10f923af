"""CycleWorkflow on the time-skipping server: a whole quarter in seconds.

Reminders at the right local times (Monday 09:00 Asia/Shanghai = 01:00 UTC, the digest at
12:00 = 04:00 UTC), the phases in order, continue-as-new every week, closing and final
scoring once; notification keys per workflow step.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import build_worker
from tests.workflows.fake_activities import FakeActivities
from workflows import ids
from workflows.cycle import (
    ARCHIVE_ACTIVITY,
    AUDIENCE_ACTIVITY,
    CLOSE_ACTIVITY,
    SET_PHASE_ACTIVITY,
    STALE_AFTER,
    CycleInput,
    CycleState,
    CycleWorkflow,
)
from workflows.notifications import (
    CYCLE_CHECKIN_REMINDER,
    CYCLE_CLOSED,
    CYCLE_MANAGER_DIGEST,
    CYCLE_MIDPOINT,
    CYCLE_PLANNING_REMINDER,
    CYCLE_SELF_SCORE,
)
from workflows.search_attributes import STRIDE_CYCLE, STRIDE_PHASE
from workflows.vocabulary import INVALID_INPUT_ERROR

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def fakes() -> FakeActivities:
    return FakeActivities()


@pytest.fixture
async def task_queue(client: Client, fakes: FakeActivities) -> AsyncIterator[str]:
    async with build_worker(client, f"tq-{uuid.uuid4()}", activities=fakes.all()) as worker:
        yield worker.task_queue


def mondays(first: date, last: date) -> list[date]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in days if d.weekday() == 0]


def local(t: datetime) -> datetime:
    """A scheduled time in Shanghai, to the minute (activities start a few ms after it)."""
    return t.astimezone(SHANGHAI).replace(second=0, microsecond=0)


async def test_a_whole_quarter_on_the_org_calendar(
    temporal_env: WorkflowEnvironment, client: Client, fakes: FakeActivities, task_queue: str
) -> None:
    now = await temporal_env.get_current_time()
    start = now.astimezone(SHANGHAI).date() + timedelta(days=3)
    end = start + timedelta(days=90)
    cycle_id = f"cyc-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(cycle_id=cycle_id, start_date=start.isoformat(), end_date=end.isoformat()),
        id=ids.cycle(cycle_id),
        task_queue=task_queue,
    )
    result: CycleState = await handle.result()  # follows the continue-as-new chain

    # Phases in order, each once; final scoring once, after the closing deadline.
    phases = [c.input.phase for c in fakes.of(SET_PHASE_ACTIVITY)]
    assert phases == ["planning", "approval", "execution", "closing"]
    closes = fakes.of(CLOSE_ACTIVITY)
    assert [c.input for c in closes] == [cycle_id]
    closing_deadline = end + timedelta(days=7)
    assert closes[0].at >= datetime(
        *(closing_deadline + timedelta(days=1)).timetuple()[:3], tzinfo=SHANGHAI
    )
    assert (result.phase, result.done) == ("archived", True)
    # Then the feedback service archives the cycle (patch cycle-archive), once, after scoring.
    archives = fakes.of(ARCHIVE_ACTIVITY)
    assert [c.input for c in archives] == [cycle_id]
    assert archives[0].at >= closes[0].at

    # Check-in reminders: every Monday 09:00 Shanghai (01:00 UTC) of the execution phase.
    execution_from = start + timedelta(days=15)  # after the approval deadline (start + 14)
    expected_mondays = mondays(execution_from, end)
    reminders = fakes.notifications(CYCLE_CHECKIN_REMINDER)
    sent_at = [c.at for c in fakes.of("notify") if c.input.template == CYCLE_CHECKIN_REMINDER]
    assert [t.astimezone(SHANGHAI).date() for t in sent_at] == expected_mondays
    for t in sent_at:
        assert (local(t).weekday(), local(t).time()) == (0, time(9))
        assert (t.astimezone(UTC).hour, t.astimezone(UTC).minute) == (1, 0)
    # Keys: workflow id + step (the ISO week), never the run id.
    weeks = [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in expected_mondays]
    assert [r.key for r in reminders] == [f"cycle/{cycle_id}/checkin/{w}" for w in weeks]
    assert all(r.messages[0].params["pending"] == "2" for r in reminders)

    # Manager digests at 12:00 Shanghai (04:00 UTC) the same Mondays.
    digest_at = [c.at for c in fakes.of("notify") if c.input.template == CYCLE_MANAGER_DIGEST]
    assert [t.astimezone(SHANGHAI).date() for t in digest_at] == expected_mondays
    assert all(t.astimezone(UTC).hour == 4 for t in digest_at)

    # Planning reminders (deadline - 2 days and the deadline day, 09:00), midpoint, closing.
    planning = [c.at for c in fakes.of("notify") if c.input.template == CYCLE_PLANNING_REMINDER]
    deadline = start + timedelta(days=7)
    assert [local(t) for t in planning] == [
        datetime.combine(deadline - timedelta(days=2), time(9), tzinfo=SHANGHAI),
        datetime.combine(deadline, time(9), tzinfo=SHANGHAI),
    ]
    assert [m.recipient_id for m in fakes.notifications(CYCLE_PLANNING_REMINDER)[0].messages] == [
        "emp-1",
        "emp-2",
    ]
    assert len(fakes.notifications(CYCLE_MIDPOINT)) == 1
    assert len(fakes.notifications(CYCLE_SELF_SCORE)) == 1
    assert len(fakes.notifications(CYCLE_CLOSED)) == 1
    self_score_at = next(c.at for c in fakes.of("notify") if c.input.template == CYCLE_SELF_SCORE)
    assert local(self_score_at) == datetime.combine(
        end + timedelta(days=1), time(0), tzinfo=SHANGHAI
    )

    # Every step's key is unique: nothing was notified twice across the continue-as-new runs.
    keys = [r.key for r in fakes.notifications()]
    assert len(keys) == len(set(keys))
    # It continued as new once a week (after each digest), carrying its progress.
    assert result.runs == len(expected_mondays) + 1
    assert result.completed == result.total
    desc = await handle.describe()
    assert desc.status == WorkflowExecutionStatus.COMPLETED
    assert desc.typed_search_attributes.get(STRIDE_PHASE) == "archived"
    assert desc.typed_search_attributes.get(STRIDE_CYCLE) == cycle_id


async def test_a_cycle_started_late_skips_stale_reminders_but_keeps_phases(
    temporal_env: WorkflowEnvironment, client: Client, fakes: FakeActivities, task_queue: str
) -> None:
    now = await temporal_env.get_current_time()
    today = now.astimezone(SHANGHAI).date()
    # Created three weeks into a short cycle that ends in two weeks.
    start = today - timedelta(days=21)
    end = today + timedelta(days=13)
    cycle_id = f"cyc-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(
            cycle_id=cycle_id,
            start_date=start.isoformat(),
            end_date=end.isoformat(),
            closing_deadline=(end + timedelta(days=2)).isoformat(),
        ),
        id=ids.cycle(cycle_id),
        task_queue=task_queue,
    )
    result = await handle.result()
    assert [c.input.phase for c in fakes.of(SET_PHASE_ACTIVITY)] == [
        "planning",
        "approval",
        "execution",
        "closing",
    ]
    # Past planning reminders were skipped, none sent.
    assert fakes.notifications(CYCLE_PLANNING_REMINDER) == []
    assert result.skipped >= 2
    # Upcoming Mondays still get their reminders, and so does today's when it is less than
    # STALE_AFTER late (the session's time-skipping clock may stand on any weekday and hour).
    upcoming = [
        d
        for d in mondays(today, end)
        if datetime.combine(d, time(9), tzinfo=SHANGHAI) >= now - STALE_AFTER
    ]
    assert upcoming, "the cycle still has Mondays ahead"
    assert len(fakes.notifications(CYCLE_CHECKIN_REMINDER)) == len(upcoming)
    assert len(fakes.of(CLOSE_ACTIVITY)) == 1


async def test_state_query_while_running(
    temporal_env: WorkflowEnvironment, client: Client, fakes: FakeActivities, task_queue: str
) -> None:
    now = await temporal_env.get_current_time()
    start = now.astimezone(SHANGHAI).date() + timedelta(days=30)
    cycle_id = f"cyc-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(
            cycle_id=cycle_id,
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=60)).isoformat(),
            time_zone="Europe/Berlin",
        ),
        id=ids.cycle(cycle_id),
        task_queue=task_queue,
    )
    try:
        state: CycleState = await handle.query(CycleWorkflow.state)
        assert state.next_step == "phase/planning"
        assert state.phase == "" and state.completed == 0 and not state.done
        # Local midnight in Berlin at the start date.
        assert state.next_at == (
            datetime.combine(start, time(0), tzinfo=ZoneInfo("Europe/Berlin"))
            .astimezone(UTC)
            .strftime("%Y-%m-%dT%H:%M:%SZ")
        )
    finally:
        await handle.terminate("test over")


async def _state_when(
    handle: WorkflowHandle[CycleWorkflow, CycleState], done: Callable[[CycleState], bool]
) -> CycleState:
    """The workflow's state once ``done`` holds (polled: the query answers at once)."""
    for _ in range(400):
        state = await handle.query(CycleWorkflow.state)
        if done(state):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id}: still {state}")


async def test_a_backfill_cycle_waits_for_the_close_by_hand(
    temporal_env: WorkflowEnvironment, client: Client, fakes: FakeActivities, task_queue: str
) -> None:
    """Last quarter, created today: it reaches its closing phase at once, reminds nobody and
    stays open — even months later — until goals says HR closed it."""
    now = await temporal_env.get_current_time()
    today = now.astimezone(SHANGHAI).date()
    start, end = today - timedelta(days=100), today - timedelta(days=10)
    cycle_id = f"cyc-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(
            cycle_id=cycle_id,
            start_date=start.isoformat(),
            end_date=end.isoformat(),
            # The closing deadline still ahead: even then it does not close by itself.
            closing_deadline=(today + timedelta(days=5)).isoformat(),
            backfill=True,
        ),
        id=ids.cycle(cycle_id),
        task_queue=task_queue,
    )
    state = await _state_when(handle, lambda s: s.awaiting_close)
    assert (state.phase, state.next_step, state.backfill, state.done) == (
        "closing",
        "close",
        True,
        False,
    )
    assert [c.input.phase for c in fakes.of(SET_PHASE_ACTIVITY)] == [
        "planning",
        "approval",
        "execution",
        "closing",
    ]
    # Nobody is reminded of weeks that are over, nor asked who to remind.
    assert fakes.of(AUDIENCE_ACTIVITY) == [] and fakes.notifications() == []
    assert state.skipped == state.completed - 4

    # Time passes far beyond the closing deadline: no timer closes it.
    await temporal_env.sleep(timedelta(days=60))
    state = await handle.query(CycleWorkflow.state)
    assert state.awaiting_close and fakes.of(CLOSE_ACTIVITY) == []
    desc = await handle.describe()
    assert desc.status == WorkflowExecutionStatus.RUNNING
    assert desc.typed_search_attributes.get(STRIDE_PHASE) == "closing"

    # HR closed it in goals; the bridge tells the workflow, which archives (its close step
    # finds the cycle closed) and ends, still without a notice.
    await handle.signal(CycleWorkflow.cycle_closed)
    result = await handle.result()
    assert (result.phase, result.done, result.awaiting_close) == ("archived", True, False)
    assert [c.input for c in fakes.of(CLOSE_ACTIVITY)] == [cycle_id]
    assert [c.input for c in fakes.of(ARCHIVE_ACTIVITY)] == [cycle_id]
    assert fakes.notifications() == []
    assert result.runs == 1  # no weekly continue-as-new for weeks that are over
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(STRIDE_PHASE) == "archived"


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        # Year 0001: local midnight in Shanghai is before year 1 in UTC (OverflowError).
        ("0001-01-01", "0001-03-31", "cycle_dates_out_of_range"),
        # Year 9999: the default closing deadline, a week after the end, overflows the date.
        ("9999-01-01", "9999-12-31", "cycle_dates_out_of_range"),
        ("2027-01-01", "2029-01-01", "cycle_too_long"),
    ],
)
async def test_a_cycle_that_can_never_be_planned_fails_with_a_readable_reason(
    client: Client, task_queue: str, start: str, end: str, reason: str
) -> None:
    """Started anyway (the bridge refuses such events; an older event, a hand-started run):
    the run ends FAILED with a non-retryable InvalidInput error ops can read in the Temporal
    UI, instead of failing its workflow task on every retry, forever."""
    cycle_id = f"cyc-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(cycle_id=cycle_id, start_date=start, end_date=end),
        id=ids.cycle(cycle_id),
        task_queue=task_queue,
    )
    try:
        # A workflow task that keeps failing never gives a result: bound the wait.
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), timeout=30)
    finally:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test over")
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == INVALID_INPUT_ERROR and cause.non_retryable
    assert f"cycle {cycle_id} cannot be planned: {reason}" in cause.message
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
