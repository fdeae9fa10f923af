"""The worker's own Temporal Schedules, in the organisation's time zone:

- ``risk-sweep``, the weekly risk sweep (:mod:`workflows.risk_sweep`), every Monday at
  ``STRIDE_RISK_SWEEP_AT`` (12:00 by default) — after the Monday morning check-in deadline;
- ``report-monthly``, the month-end department brief (:mod:`workflows.monthly_brief`), at
  ``STRIDE_MONTHLY_BRIEF_AT`` (18:00) on each of the 24th..31st; the run on the month's last
  working day (the organisation's holiday calendar) briefs the month, the others end at once.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDReusePolicy

from services.common.schedules import ensure_schedule
from services.common.settings import WorkerSettings
from workflows import ids
from workflows.audit import memo
from workflows.calendar import parse_clock, zone
from workflows.monthly_brief import (
    FIRST_CANDIDATE_DAY,
    MonthlyBriefInput,
    MonthlyBriefReport,
    MonthlyBriefWorkflow,
)
from workflows.monthly_brief import memo_title as brief_title
from workflows.risk_sweep import RiskSweepInput, RiskSweepReport, RiskSweepWorkflow, memo_title

# Temporal's day_of_week: 0 = Sunday, 1 = Monday.
MONDAY = 1


def risk_sweep_schedule(settings: WorkerSettings) -> Schedule:
    """Every Monday at ``settings.risk_sweep_at`` local time (``settings.time_zone``)."""
    at = parse_clock(settings.risk_sweep_at)
    zone(settings.time_zone)  # ValueError for an unknown zone
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RiskSweepWorkflow.run,
            RiskSweepInput(time_zone=settings.time_zone, batch_size=settings.risk_sweep_batch_size),
            # Temporal appends the scheduled time: risk-sweep-2026-11-30T04:00:00Z; that run
            # sweeps the week just ended as risk-sweep/<week>.
            id=ids.RISK_SWEEP_SCHEDULE,
            task_queue=settings.task_queue,
            # A holiday week may make a run wait for the first working day back.
            execution_timeout=timedelta(days=21),
            memo=memo(memo_title()),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_week=[ScheduleRange(MONDAY)],
                    hour=[ScheduleRange(at.hour)],
                    minute=[ScheduleRange(at.minute)],
                    comment="weekly risk sweep after the check-in deadline",
                )
            ],
            time_zone_name=settings.time_zone,
        ),
        # A worker down over Monday noon: the run is made up within a day of coming back.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )


async def ensure_risk_sweep_schedule(client: Client, settings: WorkerSettings) -> str | None:
    """Create or update the Schedule ``risk-sweep`` (keeping a pause an operator set); None
    when ``STRIDE_RISK_SWEEP_AT`` is empty (an existing schedule is then left alone)."""
    if not settings.risk_sweep_at:
        return None
    await ensure_schedule(client, ids.RISK_SWEEP_SCHEDULE, risk_sweep_schedule(settings))
    return ids.RISK_SWEEP_SCHEDULE


async def start_risk_sweep(
    client: Client, week: str, *, task_queue: str, time_zone: str, batch_size: int = 0
) -> WorkflowHandle[RiskSweepWorkflow, RiskSweepReport]:
    """Sweep ``week`` now as ``risk-sweep/<week>`` (again, if it ran before: idempotent)."""
    return await client.start_workflow(
        RiskSweepWorkflow.run,
        RiskSweepInput(week=week, time_zone=time_zone, batch_size=batch_size),
        id=ids.risk_sweep(week),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        memo=memo(memo_title(week)),
    )


def monthly_brief_schedule(settings: WorkerSettings) -> Schedule:
    """At ``settings.monthly_brief_at`` local time on the 24th..31st of every month."""
    at = parse_clock(settings.monthly_brief_at)
    zone(settings.time_zone)  # ValueError for an unknown zone
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MonthlyBriefWorkflow.run,
            MonthlyBriefInput(time_zone=settings.time_zone),
            # report-monthly-<scheduled time>; the run on the last working day briefs the
            # month as report/monthly/<yyyy-mm>.
            id=ids.MONTHLY_BRIEF_SCHEDULE,
            task_queue=settings.task_queue,
            execution_timeout=timedelta(days=2),
            memo=memo(brief_title()),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_month=[ScheduleRange(FIRST_CANDIDATE_DAY, 31)],
                    hour=[ScheduleRange(at.hour)],
                    minute=[ScheduleRange(at.minute)],
                    comment="month-end brief on the month's last working day",
                )
            ],
            time_zone_name=settings.time_zone,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )


async def ensure_monthly_brief_schedule(client: Client, settings: WorkerSettings) -> str | None:
    """Create or update the Schedule ``report-monthly`` (keeping a pause an operator set);
    None when ``STRIDE_MONTHLY_BRIEF_AT`` is empty."""
    if not settings.monthly_brief_at:
        return None
    await ensure_schedule(client, ids.MONTHLY_BRIEF_SCHEDULE, monthly_brief_schedule(settings))
    return ids.MONTHLY_BRIEF_SCHEDULE


async def start_monthly_brief(
    client: Client, month: str, *, task_queue: str, time_zone: str
) -> WorkflowHandle[MonthlyBriefWorkflow, MonthlyBriefReport]:
    """Brief ``month`` now as ``report/monthly/<yyyy-mm>`` (again, if it ran before: the
    e-mails already sent are not sent again)."""
    return await client.start_workflow(
        MonthlyBriefWorkflow.run,
        MonthlyBriefInput(month=month, time_zone=time_zone),
        id=ids.monthly_brief(month),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        memo=memo(brief_title(month)),
    )
