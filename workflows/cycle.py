"""The quarterly OKR cycle: ``cycle/<cycle>``.

Started by the event bridge when goals emits ``stride.goals.v1.cycle.created``. Everything
happens at instants computed on the organisation's calendar (the cycle's time zone) by the
pure :func:`cycle_steps`:

planning   from the start: phase PLANNING; reminders (09:00 local, two days before and on the
           planning deadline) to people in pilot departments who have not submitted goals;
approval   after the planning deadline: phase APPROVAL (managers approve submitted plans);
execution  after the approval deadline: phase EXECUTION; every Monday 09:00 local a check-in
           reminder to people with approved key results not checked in this ISO week, every
           Monday 12:00 a digest to each manager about their reports; at the midpoint of the
           cycle (09:00 local) the mid-cycle review notice;
closing    after the last day: phase CLOSING and the self-score reminder (and, when the input
           names a question template, the cycle's 360 feedback rounds: feedback StartRounds,
           patch ``cycle-feedback-rounds``); after the closing deadline: final scoring (goals
           CloseCycle), the performance archive (feedback ArchiveCycle: scores, released 360
           aggregates; patch ``cycle-archive``), ARCHIVED.

Backfill. A cycle created after its last day (goals sets ``backfill``; HR entering a past
quarter) runs its phase steps at once, reminds nobody, and then waits in CLOSING — with no
timer — until goals says the cycle was closed by hand (the bridge signals
:data:`SIGNAL_CYCLE_CLOSED` on ``stride.goals.v1.cycle.closed``). Only then does it finish
(the close step finds the cycle closed: nothing is scored twice) and archive. It never closes
the cycle itself, so HR can enter plans and import past check-ins first.

Holidays (patch ``cycle-holidays``): a check-in reminder or manager digest due on a day the
organisation's calendar has off moves to the same time on the next working day (skipped if
that is past the next phase change). Notifications go through
:func:`workflows.delivery.deliver` (quiet hours; patch ``notify-channels``).

The workflow runs the steps in order, sleeping until each. A reminder more than
:data:`STALE_AFTER` late (the cycle was created after it) is skipped; phase changes and
closing always run (they are idempotent in goals). To keep the history short over a quarter
it continues as new after each week's digest and whenever Temporal suggests it, carrying its
progress (:class:`CycleProgress`). Notifications are idempotent per step (keys from the
workflow id and the step key), so a retried step never notifies twice.

Search attributes: StrideCycle, StrideDepartment ("all"), StridePhase (the phase name).

Longer than ~400 lines on purpose: the pure plan (:func:`cycle_steps`) and the workflow that
walks it are one contract (step keys are notification keys, the order is replayed), read and
changed together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from workflows.calendar import (
    MONDAY,
    CycleCalendar,
    InvalidCycle,
    cycle_calendar,
    end_of_day,
    iso_week,
    local_date,
    local_instant,
    next_working_day_at,
    parse_instant,
    rfc3339,
    start_of_day,
    weekly_instants,
)
from workflows.delivery import deliver, work_calendar
from workflows.notifications import (
    CYCLE_CHECKIN_REMINDER,
    CYCLE_CLOSED,
    CYCLE_MANAGER_DIGEST,
    CYCLE_MIDPOINT,
    CYCLE_PLANNING_REMINDER,
    CYCLE_SELF_SCORE,
    NotifyRequest,
    Outgoing,
    step_key,
)
from workflows.round_rules import (
    START_ROUNDS_ACTIVITY,
    RoundsAtClosing,
    StartRoundsResult,
    rounds_at_closing,
)
from workflows.search_attributes import STRIDE_CYCLE, STRIDE_DEPARTMENT, STRIDE_PHASE
from workflows.vocabulary import DEFAULT_TIME_ZONE, INVALID_INPUT_ERROR, Phase

QUERY_STATE = "state"
# Goals closed the cycle (by hand): a backfill cycle's workflow finishes on it.
SIGNAL_CYCLE_CLOSED = "cycle_closed"
SET_PHASE_ACTIVITY = "cycle_set_phase"
AUDIENCE_ACTIVITY = "cycle_audience"
CLOSE_ACTIVITY = "cycle_close"
# The feedback service archives the closed cycle (ArchiveService.ArchiveCycle; idempotent).
ARCHIVE_ACTIVITY = "cycle_archive"

# Step kinds.
STEP_PHASE = "phase"
STEP_REMIND = "remind"
STEP_CLOSE = "close"

# Audiences the cycle_audience activity resolves (who gets a step's notification).
AUDIENCE_NOT_SUBMITTED = "not_submitted"  # pilot departments' people without submitted goals
AUDIENCE_NOT_CHECKED_IN = "not_checked_in"  # approved KRs, no check-in this week
AUDIENCE_MANAGERS = "managers"  # managers of participants: digest of their reports
AUDIENCE_PARTICIPANTS = "participants"  # people with approved objectives
AUDIENCE_PILOT = "pilot"  # everyone in pilot departments

REMINDER_TIME = time(9, 0)
DIGEST_TIME = time(12, 0)
PLANNING_REMINDER_DAYS_BEFORE = (2, 0)
# A reminder found this late (the workflow started after it) is skipped.
STALE_AFTER = timedelta(hours=12)
# workflow.patched id: a weekly check-in reminder or manager digest due on a holiday moves to
# the same time on the next working day of the org calendar (other reminders keep their day).
PATCH_HOLIDAYS = "cycle-holidays"
WORKING_DAY_STEPS = ("checkin/", "digest/")
# How far past a reminder's day the calendar is read (the longest holiday week fits).
CALENDAR_WINDOW = timedelta(days=21)
# workflow.patched id: entering closing starts the cycle's 360 feedback rounds (feedback
# StartRounds) when the input names a question template (CycleInput.feedback_rounds).
PATCH_ROUNDS = "cycle-feedback-rounds"
# workflow.patched id: after final scoring the feedback service archives the cycle (one record
# per employee: score, released 360 aggregates, manager) before the phase becomes ARCHIVED.
PATCH_ARCHIVE = "cycle-archive"

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


@dataclass
class CycleProgress:
    """What the workflow carries across continue-as-new."""

    # Steps of cycle_steps() done (or skipped) so far.
    completed: int = 0
    phase: str = ""
    notified: int = 0
    skipped: int = 0
    runs: int = 1
    last_step: str = ""
    # Goals closed the cycle (SIGNAL_CYCLE_CLOSED).
    closed: bool = False
    # 360 feedback rounds started at closing (CycleInput.feedback_rounds).
    rounds_started: int = 0
    # Archive records the feedback service created or refreshed at the end (patch
    # ``cycle-archive``).
    archived: int = 0


@dataclass
class ArchiveResult:
    """What the archive activity reports (feedback ArchiveCycleResponse)."""

    created: int = 0
    updated: int = 0
    scored: bool = False


@dataclass
class CycleInput:
    cycle_id: str
    # ISO dates (inclusive) in time_zone.
    start_date: str
    end_date: str
    time_zone: str = DEFAULT_TIME_ZONE
    planning_deadline: str = ""
    approval_deadline: str = ""
    closing_deadline: str = ""
    progress: CycleProgress | None = None
    # Created after its end date: wait for the close by hand, remind nobody (module doc).
    backfill: bool = False
    # Start the 360 feedback rounds when the cycle enters closing (None: HR starts them).
    feedback_rounds: RoundsAtClosing | None = None


@dataclass
class Step:
    # RFC 3339 UTC instant.
    at: str
    kind: str
    # Unique within the cycle, e.g. "checkin/2026-W41"; part of the notification keys.
    key: str
    phase: str = ""
    template: str = ""
    audience: str = ""
    # ISO week the audience is about (check-ins), or "".
    week: str = ""
    # Continue-as-new after this step (the end of a week's work).
    week_end: bool = False


@dataclass
class AudienceInput:
    cycle_id: str
    audience: str
    week: str = ""


@dataclass
class SetPhaseInput:
    cycle_id: str
    phase: str


@dataclass
class CycleState:
    cycle_id: str
    phase: str
    completed: int
    total: int
    next_step: str
    next_at: str
    notified: int
    skipped: int
    runs: int
    last_step: str = ""
    done: bool = False
    backfill: bool = False
    # A backfill cycle waiting for HR to close it.
    awaiting_close: bool = False
    # 360 feedback rounds started (or found started) at closing.
    rounds_started: int = 0


def calendar_of(input: CycleInput) -> CycleCalendar:
    """The cycle's dates; missing deadlines get goals' defaults (:func:`vocabulary.deadlines`).

    Raises :class:`InvalidCycle` when goals would not accept them or the time zone is unknown.
    """
    return cycle_calendar(
        input.start_date,
        input.end_date,
        input.time_zone,
        input.planning_deadline,
        input.approval_deadline,
        input.closing_deadline,
    )


def cycle_steps(input: CycleInput) -> list[Step]:
    """Every step of the cycle in the order it runs (pure; the workflow's whole plan)."""
    cal = calendar_of(input)
    tz = cal.time_zone
    steps: list[tuple[datetime, int, Step]] = []

    def add(at: datetime, order: int, step: Step) -> None:
        steps.append((at, order, replace(step, at=rfc3339(at))))

    add(start_of_day(cal.start, tz), 0, Step("", STEP_PHASE, "phase/planning", Phase.PLANNING))
    for days_before in PLANNING_REMINDER_DAYS_BEFORE:
        day = cal.planning_deadline - timedelta(days=days_before)
        if cal.start <= day:
            add(
                local_instant(day, REMINDER_TIME, tz),
                1,
                Step(
                    "",
                    STEP_REMIND,
                    f"planning-reminder/{day.isoformat()}",
                    template=CYCLE_PLANNING_REMINDER,
                    audience=AUDIENCE_NOT_SUBMITTED,
                ),
            )
    add(
        end_of_day(cal.planning_deadline, tz),
        0,
        Step("", STEP_PHASE, "phase/approval", Phase.APPROVAL),
    )
    execution_start = end_of_day(cal.approval_deadline, tz)
    add(execution_start, 0, Step("", STEP_PHASE, "phase/execution", Phase.EXECUTION))
    first_monday = cal.approval_deadline + timedelta(days=1)
    for at in weekly_instants(first_monday, cal.end, MONDAY, REMINDER_TIME, tz):
        week = iso_week(at, tz)
        add(
            at,
            1,
            Step(
                "",
                STEP_REMIND,
                f"checkin/{week}",
                template=CYCLE_CHECKIN_REMINDER,
                audience=AUDIENCE_NOT_CHECKED_IN,
                week=week,
            ),
        )
    for at in weekly_instants(first_monday, cal.end, MONDAY, DIGEST_TIME, tz):
        week = iso_week(at, tz)
        add(
            at,
            1,
            Step(
                "",
                STEP_REMIND,
                f"digest/{week}",
                template=CYCLE_MANAGER_DIGEST,
                audience=AUDIENCE_MANAGERS,
                week=week,
                week_end=True,
            ),
        )
    midpoint = cal.start + (cal.end - cal.start) / 2
    add(
        local_instant(midpoint, REMINDER_TIME, tz),
        2,
        Step(
            "",
            STEP_REMIND,
            f"midpoint/{midpoint.isoformat()}",
            template=CYCLE_MIDPOINT,
            audience=AUDIENCE_PARTICIPANTS,
        ),
    )
    closing = end_of_day(cal.end, tz)
    add(closing, 0, Step("", STEP_PHASE, "phase/closing", Phase.CLOSING))
    add(
        closing,
        1,
        Step(
            "",
            STEP_REMIND,
            "self-score",
            template=CYCLE_SELF_SCORE,
            audience=AUDIENCE_PARTICIPANTS,
        ),
    )
    add(
        end_of_day(cal.closing_deadline, tz),
        0,
        Step("", STEP_CLOSE, "close", Phase.ARCHIVED),
    )
    add(
        end_of_day(cal.closing_deadline, tz),
        1,
        Step(
            "",
            STEP_REMIND,
            "closed",
            template=CYCLE_CLOSED,
            audience=AUDIENCE_PARTICIPANTS,
        ),
    )
    steps.sort(key=lambda s: (s[0], s[1]))
    return [s for _, _, s in steps]


@workflow.defn
class CycleWorkflow:
    @workflow.init
    def __init__(self, input: CycleInput) -> None:
        self._input = input
        self._progress = replace(input.progress) if input.progress else CycleProgress()
        self._steps: list[Step] = []
        self._awaiting_close = False

    @workflow.run
    async def run(self, input: CycleInput) -> CycleState:
        try:
            self._steps = cycle_steps(input)
        except InvalidCycle as err:
            # Fail the run (not the workflow task, which would retry forever): the input
            # cannot change, and ops read the reason in the Temporal UI.
            raise ApplicationError(
                f"cycle {input.cycle_id} cannot be planned: {err}",
                type=INVALID_INPUT_ERROR,
                non_retryable=True,
            ) from err
        workflow.upsert_search_attributes(
            [
                STRIDE_CYCLE.value_set(input.cycle_id),
                STRIDE_DEPARTMENT.value_set("all"),
                STRIDE_PHASE.value_set(self._progress.phase or Phase.PLANNING),
            ]
        )
        wid = workflow.info().workflow_id
        while self._progress.completed < len(self._steps):
            step = self._steps[self._progress.completed]
            if input.backfill:
                run = await self._backfill_turn(step)
            else:
                run = await self._turn(step)
            if run:
                await self._run_step(wid, step)
            else:
                self._progress.skipped += 1
            self._progress.completed += 1
            self._progress.last_step = step.key
            more = self._progress.completed < len(self._steps)
            # A backfill cycle's weeks are over (nothing runs in them): no weekly new run.
            week_end = step.week_end and not input.backfill
            if more and (week_end or workflow.info().is_continue_as_new_suggested()):
                await workflow.wait_condition(workflow.all_handlers_finished)
                progress = replace(self._progress, runs=self._progress.runs + 1)
                workflow.continue_as_new(replace(input, progress=progress))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _turn(self, step: Step) -> bool:
        """Wait until ``step`` is due; whether to run it (a stale reminder is skipped, and so
        is one that a holiday would push past the next phase change)."""
        at = parse_instant(step.at)
        weekly = step.kind == STEP_REMIND and step.key.startswith(WORKING_DAY_STEPS)
        if weekly and workflow.patched(PATCH_HOLIDAYS):
            moved = await self._on_working_day(at)
            if moved is None:
                return False
            at = moved
        wait = at - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait, summary=step.key)
        return not (step.kind == STEP_REMIND and workflow.now() - at > STALE_AFTER)

    async def _on_working_day(self, at: datetime) -> datetime | None:
        """``at`` moved to the next working day when its day is a holiday (or a weekend that
        is not an adjusted working day); None when that is after the next phase step."""
        tz = self._input.time_zone
        day = local_date(at, tz)
        calendar = await work_calendar(day, day + CALENDAR_WINDOW)
        due = next_working_day_at(at, tz, calendar)
        if due == at:
            return at
        later = self._steps[self._progress.completed + 1 :]
        barrier = next((parse_instant(s.at) for s in later if s.kind != STEP_REMIND), None)
        return None if barrier is not None and due > barrier else due

    async def _backfill_turn(self, step: Step) -> bool:
        """A backfill cycle: phases when due (all are past), no reminder, and the close step
        once goals has closed the cycle by hand — however long that takes."""
        if step.kind == STEP_REMIND:
            return False
        if step.kind == STEP_CLOSE:
            self._awaiting_close = True
            await workflow.wait_condition(lambda: self._progress.closed)
            self._awaiting_close = False
            return True
        return await self._turn(step)

    @workflow.signal(name=SIGNAL_CYCLE_CLOSED)
    def cycle_closed(self) -> None:
        self._progress.closed = True

    async def _run_step(self, wid: str, step: Step) -> None:
        if step.kind == STEP_PHASE:
            await workflow.execute_activity(
                SET_PHASE_ACTIVITY,
                SetPhaseInput(self._input.cycle_id, step.phase),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
                summary=step.key,
            )
            self._set_phase(step.phase)
            if step.phase == Phase.CLOSING:
                await self._start_feedback_rounds()
        elif step.kind == STEP_CLOSE:
            await workflow.execute_activity(
                CLOSE_ACTIVITY,
                self._input.cycle_id,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RETRY,
                summary="final scoring",
            )
            if workflow.patched(PATCH_ARCHIVE):
                archived: ArchiveResult = await workflow.execute_activity(
                    ARCHIVE_ACTIVITY,
                    self._input.cycle_id,
                    result_type=ArchiveResult,
                    start_to_close_timeout=timedelta(minutes=5),
                    retry_policy=RETRY,
                    summary="performance archive",
                )
                self._progress.archived = archived.created + archived.updated
            self._set_phase(Phase.ARCHIVED)
        else:
            audience: list[Outgoing] = await workflow.execute_activity(
                AUDIENCE_ACTIVITY,
                AudienceInput(self._input.cycle_id, step.audience, step.week),
                result_type=list[Outgoing],
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RETRY,
                summary=f"{step.key}: who",
            )
            if audience:
                result = await deliver(
                    NotifyRequest(step_key(wid, step.key), step.template, audience),
                    start_to_close_timeout=timedelta(minutes=10),
                    heartbeat_timeout=timedelta(minutes=1),
                    retry_policy=RETRY,
                    summary=step.key,
                )
                self._progress.notified += result.delivered + result.already_delivered

    async def _start_feedback_rounds(self) -> None:
        """The 360 rounds of the cycle (patch ``cycle-feedback-rounds``; idempotent in the
        feedback service: a round per cycle and person). A backfill cycle starts none."""
        plan = self._input.feedback_rounds
        if plan is None or self._input.backfill or not workflow.patched(PATCH_ROUNDS):
            return
        request = replace(
            rounds_at_closing(plan, calendar_of(self._input).end), cycle_id=self._input.cycle_id
        )
        result: StartRoundsResult = await workflow.execute_activity(
            START_ROUNDS_ACTIVITY,
            request,
            result_type=StartRoundsResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RETRY,
            summary="start the 360 feedback rounds",
        )
        self._progress.rounds_started = result.started + result.already

    def _set_phase(self, phase: str) -> None:
        self._progress.phase = phase
        workflow.upsert_search_attributes([STRIDE_PHASE.value_set(phase)])

    @workflow.query(name=QUERY_STATE)
    def state(self) -> CycleState:
        steps = self._steps
        p = self._progress
        nxt = steps[p.completed] if p.completed < len(steps) else None
        return CycleState(
            cycle_id=self._input.cycle_id,
            phase=p.phase,
            completed=p.completed,
            total=len(steps),
            next_step=nxt.key if nxt else "",
            next_at=nxt.at if nxt else "",
            notified=p.notified,
            skipped=p.skipped,
            runs=p.runs,
            last_step=p.last_step,
            done=nxt is None,
            backfill=self._input.backfill,
            awaiting_close=self._awaiting_close,
            rounds_started=p.rounds_started,
        )
