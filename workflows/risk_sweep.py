"""The weekly risk sweep: ``risk-sweep/<week>``.

*Silence is not recovery.* After the weekly check-in deadline the goals service assesses every
key result of the open cycles whose owner did not check in for the week just ended, carrying
its last value forward (the rule: :mod:`services.goals.sweep`). This workflow only walks the
batches: the ``risk_sweep_batch`` activity asks goals to sweep one batch (``SweepRisk``, one
transaction, idempotent per key result and week) and returns the next page token, until there
is none. Goals emits ``stride.goals.v1.kr.risk_swept`` for each swept key result, and the event
bridge starts ``kr-escalation/<kr>`` only for those at risk — no workflow per key result
otherwise.

Started by the Temporal Schedule ``risk-sweep`` (weekly, Monday 12:00 in the organisation's
time zone: after the Monday morning check-in deadline). A scheduled run has no week: it works
out the week that ended last in the organisation's time zone and runs the sweep of that week as
its child ``risk-sweep/<week>``; due on a day off in the organisation's holiday calendar (a
holiday Monday), it waits until the same time on the first working day back. A week whose
sweep ran before (the schedule caught up, or an operator ran it) is not swept again: the
child's id is refused unless that run failed. ``stride risk sweep`` starts
``risk-sweep/<week>`` directly.

A failed batch is retried by Temporal (goals down, a deadlock); a batch goals refuses fails the
run (nothing half-written: each batch is one transaction, and the batches before it stay done;
running the week again continues where it stopped, since swept key results are skipped).

Search attribute StridePhase: (``risk-sweep:waiting`` for a working day →)
``risk-sweep:sweeping`` → ``risk-sweep:done`` (or
``risk-sweep:failed``). The ``report`` query and the result carry the counts (no personal
data).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

from workflows import ids
from workflows.audit import memo
from workflows.calendar import local_date, next_working_day_at
from workflows.delivery import work_calendar
from workflows.search_attributes import STRIDE_PHASE
from workflows.vocabulary import DEFAULT_TIME_ZONE, INVALID_INPUT_ERROR, week_bounds, week_of

SWEEP_ACTIVITY = "risk_sweep_batch"
QUERY_REPORT = "report"
# How far ahead a scheduled run reads the organisation's calendar (a long holiday).
HOLIDAY_LOOKAHEAD_DAYS = 21

PHASE_WAITING = "risk-sweep:waiting"
PHASE_SWEEPING = "risk-sweep:sweeping"
PHASE_DONE = "risk-sweep:done"
PHASE_FAILED = "risk-sweep:failed"

STATUS_RUNNING = "running"
STATUS_DONE = "done"
# A scheduled run whose week's sweep ran before (risk-sweep/<week> exists and did not fail).
STATUS_ALREADY_SWEPT = "already_swept"
STATUS_FAILED = "failed"

# ApplicationError types.
ERROR_REFUSED = "RiskSweepRefused"  # goals refused the batch (bad input): not retried
ERROR_FAILED = "RiskSweepFailed"  # the workflow's own failure

# Goals down or busy is retried for a while (a batch is one transaction, idempotent).
BATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
    non_retryable_error_types=[ERROR_REFUSED],
)


def memo_title(week: str = "") -> str:
    """The Temporal UI title of a sweep (a week, no personal data)."""
    return f"Risk sweep {week}" if week else "Weekly risk sweep"


@dataclass
class RiskSweepInput:
    # The ISO week to sweep; "": the week that ended last in ``time_zone`` (scheduled runs).
    week: str = ""
    # The organisation's time zone (the schedule passes the worker's setting).
    time_zone: str = DEFAULT_TIME_ZONE
    # Key results per batch; 0: goals' default (500).
    batch_size: int = 0


@dataclass
class SweepBatchInput:
    week: str
    page_token: str = ""
    batch_size: int = 0


@dataclass
class SweepBatchResult:
    examined: int = 0
    swept: int = 0
    at_risk: int = 0
    behind: int = 0
    on_track: int = 0
    skipped: int = 0
    already_swept: int = 0
    next_page_token: str = ""


@dataclass
class RiskSweepReport:
    week: str = ""
    status: str = STATUS_RUNNING
    phase: str = PHASE_SWEEPING
    batches: int = 0
    examined: int = 0
    swept: int = 0
    at_risk: int = 0
    behind: int = 0
    on_track: int = 0
    skipped: int = 0
    already_swept: int = 0
    error: str = ""


def add_batch(report: RiskSweepReport, batch: SweepBatchResult) -> RiskSweepReport:
    """The report after one more batch (pure)."""
    return replace(
        report,
        batches=report.batches + 1,
        examined=report.examined + batch.examined,
        swept=report.swept + batch.swept,
        at_risk=report.at_risk + batch.at_risk,
        behind=report.behind + batch.behind,
        on_track=report.on_track + batch.on_track,
        skipped=report.skipped + batch.skipped,
        already_swept=report.already_swept + batch.already_swept,
    )


def last_week(today: date) -> str:
    """The ISO week that ended last before the local date ``today``: on Monday 2026-11-30
    (and on every day of that week) it is ``2026-W48``."""
    return week_of(today - timedelta(days=7))


@workflow.defn
class RiskSweepWorkflow:
    @workflow.init
    def __init__(self, input: RiskSweepInput) -> None:
        self._report = RiskSweepReport(week=input.week)

    @workflow.run
    async def run(self, input: RiskSweepInput) -> RiskSweepReport:
        if not input.week:
            return await self._scheduled(input)
        if week_bounds(input.week) is None:
            raise ApplicationError(
                f"not an ISO week: {input.week!r}", type=INVALID_INPUT_ERROR, non_retryable=True
            )
        self._set_phase(PHASE_SWEEPING)
        token = ""
        while True:
            try:
                batch: SweepBatchResult = await workflow.execute_activity(
                    SWEEP_ACTIVITY,
                    SweepBatchInput(input.week, token, input.batch_size),
                    result_type=SweepBatchResult,
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=BATCH_RETRY,
                    summary=f"batch {self._report.batches + 1}",
                )
            except ActivityError as err:
                cause = err.__cause__
                message = cause.message if isinstance(cause, ApplicationError) else str(err)
                self._report = replace(self._report, status=STATUS_FAILED, error=message)
                self._set_phase(PHASE_FAILED)
                raise ApplicationError(
                    f"sweeping {input.week} failed after {self._report.batches} batches: {message}",
                    type=ERROR_FAILED,
                    non_retryable=True,
                ) from err
            self._report = add_batch(self._report, batch)
            token = batch.next_page_token
            if not token:
                break
        self._report = replace(self._report, status=STATUS_DONE)
        self._set_phase(PHASE_DONE)
        workflow.logger.info(
            "risk sweep finished",
            extra={"swept": self._report.swept, "at_risk": self._report.at_risk},
        )
        return self.report()

    async def _scheduled(self, input: RiskSweepInput) -> RiskSweepReport:
        """A scheduled run: sweep the week just ended as the child ``risk-sweep/<week>``."""
        try:
            today = local_date(workflow.now(), input.time_zone)
        except ValueError as err:
            raise ApplicationError(str(err), type=INVALID_INPUT_ERROR, non_retryable=True) from err
        week = last_week(today)
        self._report = replace(self._report, week=week)
        # Due on a day off (a holiday Monday): the same time on the first working day back.
        calendar = await work_calendar(today, today + timedelta(days=HOLIDAY_LOOKAHEAD_DAYS))
        now = workflow.now()
        due = next_working_day_at(now, input.time_zone, calendar)
        if due > now:
            self._set_phase(PHASE_WAITING)
            await workflow.sleep(due - now)
        try:
            swept: RiskSweepReport = await workflow.execute_child_workflow(
                RiskSweepWorkflow.run,
                replace(input, week=week),
                id=ids.risk_sweep(week),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                memo=memo(memo_title(week)),
            )
        except WorkflowAlreadyStartedError:
            swept = replace(self._report, status=STATUS_ALREADY_SWEPT)
        self._report = swept
        self._set_phase(PHASE_DONE)
        return self.report()

    def _set_phase(self, phase: str) -> None:
        self._report = replace(self._report, phase=phase)
        workflow.upsert_search_attributes([STRIDE_PHASE.value_set(phase)])

    @workflow.query(name=QUERY_REPORT)
    def report(self) -> RiskSweepReport:
        return replace(self._report)
