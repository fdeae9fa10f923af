"""``report/monthly/<yyyy-mm>`` on the time-skipping server with stand-ins for the collect and
render activities: every department rendered, executives and heads mailed with the PDFs
attached, a re-run of the month delivering nothing twice, and a scheduled run that briefs only
on the month's last working day."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import build_worker
from tests.workflows.fake_activities import BRIEF_ORG as ORG
from tests.workflows.fake_activities import BriefStand, FakeActivities
from workflows import ids
from workflows.calendar import NO_EXCEPTIONS, WorkCalendar, local_date
from workflows.monthly_brief import (
    PHASE_DONE,
    PHASE_NOT_DUE,
    STATUS_DONE,
    STATUS_NOT_DUE,
    MonthlyBriefInput,
    MonthlyBriefWorkflow,
    last_working_day,
    month_of,
)
from workflows.notifications import MONTHLY_BRIEF, BriefAttachment
from workflows.search_attributes import STRIDE_PHASE


def test_last_working_day_follows_the_holiday_calendar() -> None:
    # November 2026 ends on a Monday.
    assert last_working_day("2026-11", NO_EXCEPTIONS) == date(2026, 11, 30)
    # ... unless it is a holiday: Friday the 27th.
    holiday = WorkCalendar.of(["2026-11-30"], [])
    assert last_working_day("2026-11", holiday) == date(2026, 11, 27)
    # An adjusted working Saturday (调休) at the end of February 2026.
    assert last_working_day("2026-02", WorkCalendar.of([], ["2026-02-28"])) == date(2026, 2, 28)


async def test_briefs_every_department_and_mails_management_once(client: Client) -> None:
    fakes = FakeActivities()
    stand = BriefStand(ORG)
    month = "2026-11"
    workflow_id = ids.monthly_brief(f"{month}-{uuid.uuid4().hex[:6]}")
    async with build_worker(
        client, f"brief-{uuid.uuid4()}", activities=[stand.collect, stand.render, *fakes.all()]
    ) as worker:
        for _ in range(2):  # HR runs the month again: nothing is delivered twice
            handle = await client.start_workflow(
                MonthlyBriefWorkflow.run,
                MonthlyBriefInput(month=month),
                id=workflow_id,
                task_queue=worker.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            )
            report = await handle.result()
        phase = (await handle.describe()).typed_search_attributes.get(STRIDE_PHASE)
    assert (report.status, report.phase, phase) == (STATUS_DONE, PHASE_DONE, PHASE_DONE)
    assert (report.departments, report.rendered) == (3, 3)
    assert report.already_delivered == 3  # the second run found every delivery
    assert stand.rendered == [(month, d.id) for d in ORG.departments] * 2
    first = fakes.notifications(MONTHLY_BRIEF)[:2]
    assert [(r.key, [m.recipient_id for m in r.messages], r.attachment) for r in first] == [
        (
            f"{workflow_id}/brief/executives",
            ["ceo", "coo"],
            BriefAttachment(month, ["d-eng", "d-qa", "d-ops"]),
        ),
        (f"{workflow_id}/brief/head/d-eng", ["head-eng"], BriefAttachment(month, ["d-eng"])),
    ]


@pytest.mark.parametrize("due", [True, False])
async def test_a_scheduled_run_briefs_only_on_the_last_working_day(
    temporal_env: WorkflowEnvironment, client: Client, due: bool
) -> None:
    fakes = FakeActivities()
    stand = BriefStand(ORG)
    zone = "Pacific/Kiritimati" if due else "Pacific/Niue"  # each run its own month id
    with temporal_env.auto_time_skipping_disabled():
        now = await temporal_env.get_current_time()
        today = local_date(now, zone)
        month = month_of(today)
        # Make today the last working day (every later day of the month a holiday), or not
        # (today a holiday).
        if due:
            fakes.working_days = [today.isoformat()]
            fakes.holidays = [
                date(today.year, today.month, d).isoformat()
                for d in range(today.day + 1, 32)
                if _valid(today.year, today.month, d)
            ]
        else:
            fakes.holidays = [today.isoformat()]
        async with build_worker(
            client, f"brief-{uuid.uuid4()}", activities=[stand.collect, stand.render, *fakes.all()]
        ) as worker:
            report = await client.execute_workflow(
                MonthlyBriefWorkflow.run,
                MonthlyBriefInput(time_zone=zone),
                id=f"{ids.MONTHLY_BRIEF_SCHEDULE}-{uuid.uuid4().hex[:8]}",
                task_queue=worker.task_queue,
            )
    if due:
        assert report.status == STATUS_DONE and stand.months == [month]
    else:
        assert (report.status, report.phase) == (STATUS_NOT_DUE, PHASE_NOT_DUE)
        assert stand.months == []


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True
