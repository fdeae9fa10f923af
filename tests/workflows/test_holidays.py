"""Timers on the organisation's holiday calendar (time-skipping server, fake activities).

A weekly check-in reminder (and the manager digest) due on a public holiday goes out at the
same time on the first working day after it; an approval's reminder counts working days on
the calendar (holidays skipped, an adjusted working day counted).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import build_worker
from tests.workflows.fake_activities import FakeActivities
from workflows import ids
from workflows.calendar import WorkCalendar, add_working_days, rfc3339
from workflows.cycle import CycleInput, CycleWorkflow
from workflows.notifications import (
    APPROVAL_REMINDER,
    CYCLE_CHECKIN_REMINDER,
    CYCLE_MANAGER_DIGEST,
)
from workflows.plan_approval import (
    SIGNAL_APPROVAL_REQUESTED,
    ApprovalRequest,
    DecisionInput,
    PlanApprovalInput,
    PlanApprovalWorkflow,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def fakes() -> FakeActivities:
    return FakeActivities()


@pytest.fixture
async def task_queue(client: Client, fakes: FakeActivities) -> AsyncIterator[str]:
    async with build_worker(client, f"tq-{uuid.uuid4()}", activities=fakes.all()) as worker:
        yield worker.task_queue


def sent_at(fakes: FakeActivities, template: str) -> list[datetime]:
    return [
        c.at.astimezone(SHANGHAI).replace(second=0, microsecond=0)
        for c in fakes.of("notify")
        if c.input.template == template
    ]


async def test_a_check_in_reminder_on_a_holiday_monday_goes_out_on_tuesday(
    temporal_env: WorkflowEnvironment, client: Client, fakes: FakeActivities, task_queue: str
) -> None:
    now = await temporal_env.get_current_time()
    start = now.astimezone(SHANGHAI).date() + timedelta(days=3)
    end = start + timedelta(days=34)
    # Execution starts after the approval deadline (start + 14): its first two Mondays.
    first = start + timedelta(days=15)
    mondays = [first + timedelta(days=(7 - first.weekday()) % 7)]
    mondays.append(mondays[0] + timedelta(days=7))
    fakes.holidays = [mondays[0].isoformat()]
    cycle_id = f"cyc-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        CycleWorkflow.run,
        CycleInput(cycle_id=cycle_id, start_date=start.isoformat(), end_date=end.isoformat()),
        id=ids.cycle(cycle_id),
        task_queue=task_queue,
    )
    await handle.result()

    tuesday = mondays[0] + timedelta(days=1)
    reminders = sent_at(fakes, CYCLE_CHECKIN_REMINDER)
    assert reminders[:2] == [
        datetime.combine(tuesday, time(9), tzinfo=SHANGHAI),
        datetime.combine(mondays[1], time(9), tzinfo=SHANGHAI),
    ]
    digests = sent_at(fakes, CYCLE_MANAGER_DIGEST)
    assert digests[0] == datetime.combine(tuesday, time(12), tzinfo=SHANGHAI)
    # Nothing went out on the holiday.
    assert all(t.date() != mondays[0] for t in reminders + digests)


async def test_an_approval_reminder_waits_two_working_days_on_the_org_calendar(
    temporal_env: WorkflowEnvironment, client: Client, fakes: FakeActivities, task_queue: str
) -> None:
    now = (await temporal_env.get_current_time()).replace(microsecond=0)
    today = now.astimezone(SHANGHAI).date()
    # The next three days are holidays: the reminder moves past them.
    fakes.holidays = [(today + timedelta(days=d)).isoformat() for d in (1, 2, 3)]
    calendar = WorkCalendar(frozenset(date.fromisoformat(d) for d in fakes.holidays))
    expected = add_working_days(now, 2, "Asia/Shanghai", calendar)
    assert expected - now > timedelta(days=4)
    employee = f"emp-{uuid.uuid4().hex[:6]}"
    handle = await client.start_workflow(
        PlanApprovalWorkflow.run,
        PlanApprovalInput(cycle_id="cyc-h", employee_id=employee),
        id=ids.plan_approval("cyc-h", employee),
        task_queue=task_queue,
        start_signal=SIGNAL_APPROVAL_REQUESTED,
        start_signal_args=[
            ApprovalRequest(
                event_id="evt-1",
                approval_id="apr-1",
                kind="plan",
                approver_ids=["emp-manager"],
                requested_at=rfc3339(now),
            )
        ],
    )
    await temporal_env.sleep(expected - now + timedelta(hours=1))
    state = await handle.query(PlanApprovalWorkflow.state)
    assert state.approvals[0].on_calendar
    reminder = [c for c in fakes.of("notify") if c.input.template == APPROVAL_REMINDER]
    assert len(reminder) == 1
    assert reminder[0].at >= expected - timedelta(seconds=1)
    await handle.execute_update(
        PlanApprovalWorkflow.decide, DecisionInput("apr-1", "approve", actor_id="emp-manager")
    )
    await handle.result()


async def test_approval_reminders_are_not_posted_to_robots(
    temporal_env: WorkflowEnvironment, client: Client, fakes: FakeActivities, task_queue: str
) -> None:
    fakes.robots = {"emp-manager": ("dep-qa", "wecom")}
    employee = f"emp-{uuid.uuid4().hex[:6]}"
    now = (await temporal_env.get_current_time()).replace(microsecond=0)
    handle = await client.start_workflow(
        PlanApprovalWorkflow.run,
        PlanApprovalInput(cycle_id="cyc-r", employee_id=employee),
        id=ids.plan_approval("cyc-r", employee),
        task_queue=task_queue,
        start_signal=SIGNAL_APPROVAL_REQUESTED,
        start_signal_args=[
            ApprovalRequest("evt-r", "apr-r", "plan", ["emp-manager"], rfc3339(now))
        ],
    )
    await temporal_env.sleep(timedelta(days=4))
    await handle.execute_update(
        PlanApprovalWorkflow.decide, DecisionInput("apr-r", "approve", actor_id="emp-manager")
    )
    await handle.result()
    assert len(fakes.of("notify")) >= 2
    assert fakes.of("im_targets") == [] and fakes.of("notify_im") == []
