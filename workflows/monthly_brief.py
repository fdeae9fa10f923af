"""The month-end department brief: ``report/monthly/<yyyy-mm>``.

*On the last working day of each month each department's performance brief is generated and
pushed to management.* Steps, each an activity so that a crash resumes where it stopped:

1. ``brief_collect``: the figures of every department for the month (goals' scores,
   participation, blockers and objectives, feedback's frequency, identity's departments),
   computed by the pure rules of :mod:`workflows.brief_figures` and stored by goals with the
   month's brief (so next month's trend reads them back). Returns the departments with their
   heads and the executives (people without a manager), ids only.
2. ``brief_render`` once per department: the HTML and the PDF in zh-CN and in en, stored by
   goals beside the figures.
3. The ``notify`` activity with the ``report.monthly_brief`` template and the PDFs attached
   (:class:`~workflows.notifications.BriefAttachment`, in each recipient's language):
   the executives get one e-mail with every department's brief (step ``brief/executives``),
   each department head one with their department's (step ``brief/head/<department>``).
   Delivery keys are the workflow id + step + recipient, so a retried activity or a re-run of
   the same month (HR on demand, the schedule catching up) sends nothing twice.

Started by the Temporal Schedule ``report-monthly`` every day from the 24th to the 31st at
18:00 (``STRIDE_MONTHLY_BRIEF_AT``) in the organisation's time zone. A scheduled run has no
month: it asks the organisation's calendar whether today is the month's last working day
(:func:`last_working_day`) and, only then, runs ``report/monthly/<yyyy-mm>`` as its child (a
month whose brief ran before and did not fail is not run again). HR runs any month on demand
(``POST /api/v1/reports/monthly/{yyyy-mm}/run``).

Search attribute StridePhase: ``report:collecting`` → ``report:rendering`` → ``report:mailing``
→ ``report:done`` (``report:not-due`` for a scheduled run on another day).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from workflows import ids
from workflows.audit import memo
from workflows.calendar import WorkCalendar, is_working_day, local_date
from workflows.delivery import deliver, service_retry, work_calendar
from workflows.notifications import (
    MONTHLY_BRIEF,
    BriefAttachment,
    NotifyRequest,
    Outgoing,
    step_key,
)
from workflows.search_attributes import STRIDE_PHASE
from workflows.vocabulary import DEFAULT_TIME_ZONE, INVALID_INPUT_ERROR, month_bounds

COLLECT_ACTIVITY = "brief_collect"
RENDER_ACTIVITY = "brief_render"
ERROR_REFUSED = "BriefRefused"

PHASE_NOT_DUE = "report:not-due"
PHASE_COLLECTING = "report:collecting"
PHASE_RENDERING = "report:rendering"
PHASE_MAILING = "report:mailing"
PHASE_DONE = "report:done"

STATUS_NOT_DUE = "not_due"
STATUS_DONE = "done"
STATUS_ALREADY_RUN = "already_run"

# The schedule fires on these days of the month; the last working day falls among them
# unless a holiday of more than a week ends the month.
FIRST_CANDIDATE_DAY = 24
STEP_EXECUTIVES = "brief/executives"

RETRY = service_retry(ERROR_REFUSED)


def memo_title(month: str = "") -> str:
    """The Temporal UI title (a month, no personal data)."""
    return f"Month-end brief {month}" if month else "Month-end brief (scheduled)"


def last_working_day(month: str, calendar: WorkCalendar) -> date:
    """The month's last working day in the organisation's calendar (holidays and adjusted
    working days, 调休); the month's last day if none is a working day."""
    bounds = month_bounds(month)
    if bounds is None:
        raise ValueError(f"not a month: {month!r}")
    first, day = bounds
    last = day
    while day >= first:
        if is_working_day(day, calendar):
            return day
        day -= timedelta(days=1)
    return last


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass
class MonthlyBriefInput:
    # ``yyyy-mm``; "": a scheduled run (brief this month if today is its last working day).
    month: str = ""
    time_zone: str = DEFAULT_TIME_ZONE


@dataclass
class BriefCollectInput:
    month: str


@dataclass
class BriefDepartment:
    id: str
    head_id: str = ""


@dataclass
class BriefCollected:
    departments: list[BriefDepartment] = field(default_factory=list)
    # People without a manager (the company head and the other top executives).
    executive_ids: list[str] = field(default_factory=list)


@dataclass
class BriefRenderInput:
    month: str
    department_id: str


@dataclass
class MonthlyBriefReport:
    month: str = ""
    status: str = ""
    phase: str = ""
    departments: int = 0
    rendered: int = 0
    emailed: int = 0
    already_delivered: int = 0


def mail_steps(workflow_id: str, month: str, collected: BriefCollected) -> list[NotifyRequest]:
    """Who gets which briefs (pure): the executives every department's, in one e-mail; each
    department head (who is not an executive) their department's."""
    everyone = [d.id for d in collected.departments]
    executives = sorted(set(collected.executive_ids))
    steps = []
    if executives and everyone:
        steps.append(
            NotifyRequest(
                key=step_key(workflow_id, STEP_EXECUTIVES),
                template=MONTHLY_BRIEF,
                messages=[Outgoing(e, {"month": month}) for e in executives],
                attachment=BriefAttachment(month, everyone),
            )
        )
    for department in collected.departments:
        if department.head_id and department.head_id not in executives:
            steps.append(
                NotifyRequest(
                    key=step_key(workflow_id, f"brief/head/{department.id}"),
                    template=MONTHLY_BRIEF,
                    messages=[Outgoing(department.head_id, {"month": month})],
                    attachment=BriefAttachment(month, [department.id]),
                )
            )
    return steps


@workflow.defn
class MonthlyBriefWorkflow:
    @workflow.init
    def __init__(self, input: MonthlyBriefInput) -> None:
        self._report = MonthlyBriefReport(month=input.month)

    @workflow.run
    async def run(self, input: MonthlyBriefInput) -> MonthlyBriefReport:
        if not input.month:
            return await self._scheduled(input)
        if month_bounds(input.month) is None:
            raise ApplicationError(
                f"not a month: {input.month!r}", type=INVALID_INPUT_ERROR, non_retryable=True
            )
        self._set_phase(PHASE_COLLECTING)
        collected: BriefCollected = await workflow.execute_activity(
            COLLECT_ACTIVITY,
            BriefCollectInput(input.month),
            result_type=BriefCollected,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RETRY,
            summary="figures",
        )
        self._report = replace(self._report, departments=len(collected.departments))
        self._set_phase(PHASE_RENDERING)
        for department in collected.departments:
            await workflow.execute_activity(
                RENDER_ACTIVITY,
                BriefRenderInput(input.month, department.id),
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RETRY,
                summary=f"render {department.id}",
            )
            self._report = replace(self._report, rendered=self._report.rendered + 1)
        self._set_phase(PHASE_MAILING)
        for request in mail_steps(workflow.info().workflow_id, input.month, collected):
            sent = await deliver(
                request,
                retry_policy=RETRY,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(minutes=2),
                summary=request.key.removeprefix(workflow.info().workflow_id + "/"),
            )
            self._report = replace(
                self._report,
                emailed=self._report.emailed + sent.emailed,
                already_delivered=self._report.already_delivered + sent.already_delivered,
            )
        self._report = replace(self._report, status=STATUS_DONE)
        self._set_phase(PHASE_DONE)
        return self.report()

    async def _scheduled(self, input: MonthlyBriefInput) -> MonthlyBriefReport:
        try:
            today = local_date(workflow.now(), input.time_zone)
        except ValueError as err:
            raise ApplicationError(str(err), type=INVALID_INPUT_ERROR, non_retryable=True) from err
        month = month_of(today)
        bounds = month_bounds(month)
        assert bounds is not None
        calendar = await work_calendar(today, bounds[1])
        self._report = replace(self._report, month=month)
        if last_working_day(month, calendar) != today:
            self._report = replace(self._report, status=STATUS_NOT_DUE)
            self._set_phase(PHASE_NOT_DUE)
            return self.report()
        try:
            done: MonthlyBriefReport = await workflow.execute_child_workflow(
                MonthlyBriefWorkflow.run,
                replace(input, month=month),
                id=ids.monthly_brief(month),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                memo=memo(memo_title(month)),
            )
        except WorkflowAlreadyStartedError:
            done = replace(self._report, status=STATUS_ALREADY_RUN)
        self._report = done
        self._set_phase(PHASE_DONE)
        return self.report()

    def _set_phase(self, phase: str) -> None:
        self._report = replace(self._report, phase=phase)
        workflow.upsert_search_attributes([STRIDE_PHASE.value_set(phase)])

    @workflow.query(name="report")
    def report(self) -> MonthlyBriefReport:
        return replace(self._report)
