"""A 360 feedback round: ``feedback-round/<cycle>/<subject>``.

Started by the event bridge when the feedback service emits
``stride.feedback.v1.round.started`` (HR started rounds for a department or the organisation,
or the cycle workflow did at closing). One round per cycle and person; the round's data
(nominations, raters, answers, aggregates) lives in the feedback service, the workflow only
drives it through time:

nominating  the subject is told to nominate (peers, reports; self and the manager are
            pre-nominated) and reminded on the last working day before ``nominations_due``;
            the manager is asked to approve the list on the first working day after it and
            reminded two working days later.
            The Update ``approve_nominations`` (validator: the caller is the subject's manager
            or HR, never the subject; a non-empty list of distinct raters; the round still
            nominating) calls the feedback service's ApproveNominations → approved.
approved    the raters are invited (inbox + e-mail through :func:`workflows.delivery.deliver`,
            so quiet hours hold the e-mail back), then MarkInvited → collecting.
collecting  raters who have not answered (ListPendingRaters) are reminded every two working
            days at 09:00, before the deadline.
closed      at the end of ``deadline`` (whatever the phase): CloseRound freezes the aggregates
            (the anonymity rules apply in the service), then the subject and the manager are
            told the results are ready (only when raters were invited).

The Signal ``cancel`` ends the run without closing: feedback CancelRound (nothing is ever
released), phase cancelled (an approval being applied finishes first). Query ``state``.
Every date follows the organisation's calendar (time zone, holidays, adjusted working days:
activity ``org_calendar``, read once at the start); the pure rules are in
:mod:`workflows.round_rules`. Search attributes: StrideCycle and StridePhase
(``feedback-round:<phase>``); ids only, no personal data.

A little over ~400 lines: the steps, the Update with its validator and the signal are one
state machine over the round's phases, read and changed together (its pure rules are apart).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.calendar import WorkCalendar, parse_instant, rfc3339, zone
from workflows.delivery import org_calendar, service_retry, tell
from workflows.notifications import (
    FEEDBACK_APPROVAL_NEEDED,
    FEEDBACK_APPROVAL_REMINDER,
    FEEDBACK_INVITED,
    FEEDBACK_NOMINATE,
    FEEDBACK_NOMINATION_REMINDER,
    FEEDBACK_RATER_REMINDER,
    FEEDBACK_RESULTS_READY,
)
from workflows.round_rules import (
    APPROVE_ACTIVITY,
    CANCEL_ACTIVITY,
    CLOSE_ACTIVITY,
    ERROR_REFUSED,
    ERROR_SERVICE_REFUSED,
    MARK_INVITED_ACTIVITY,
    PENDING_RATERS_ACTIVITY,
    QUERY_STATE,
    SIGNAL_CANCEL,
    UPDATE_APPROVE,
    ApproveActivityInput,
    ApproveNominationsInput,
    CancelRound,
    MarkInvitedInput,
    PendingRaters,
    RoundInput,
    RoundRef,
    RoundState,
    RoundTimes,
    RoundView,
    approval_error,
    rater_reminders,
    round_times,
    search_phase,
)
from workflows.search_attributes import STRIDE_CYCLE, STRIDE_PHASE
from workflows.vocabulary import (
    DEFAULT_TIME_ZONE,
    INVALID_INPUT_ERROR,
    ROUND_APPROVED,
    ROUND_CANCELLED,
    ROUND_CLOSED,
    ROUND_COLLECTING,
    ROUND_NOMINATING,
    parse_day,
)

# How far past the later of the two dates the organisation's calendar is read (reminders and
# the manager's reminder fall a few working days after them at most).
CALENDAR_MARGIN = timedelta(days=40)

ACTIVITY_RETRY = service_retry(ERROR_SERVICE_REFUSED)
# The approval is awaited by a person at the other end of an HTTP request: give up sooner.
APPROVE_RETRY = replace(ACTIVITY_RETRY, maximum_attempts=4)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
ENDED = frozenset({ROUND_CLOSED, ROUND_CANCELLED})


def _copy(state: RoundState) -> RoundState:
    return replace(state, rater_ids=list(state.rater_ids), reminders=list(state.reminders))


@workflow.defn
class FeedbackRoundWorkflow:
    @workflow.init
    def __init__(self, input: RoundInput) -> None:
        self._input = input
        self._id = ""
        self._state = RoundState(
            round_id=input.round_id,
            cycle_id=input.cycle_id,
            subject_id=input.subject_id,
            manager_id=input.manager_id,
        )
        self._announced = False
        # An accepted Update is applying the approval (another one is refused meanwhile).
        self._approving = False
        self._cancel: CancelRound | None = None
        self._times: RoundTimes | None = None
        self._tz = DEFAULT_TIME_ZONE
        self._calendar = WorkCalendar()
        # The rater reminders' instants (set at the invitation) and the next one to send.
        self._reminder_times: list[str] = []
        self._next_reminder = 0
        # Bumped whenever something the main loop waits on changes.
        self._version = 0

    @workflow.run
    async def run(self, input: RoundInput) -> RoundState:
        self._id = workflow.info().workflow_id
        workflow.upsert_search_attributes(
            [
                STRIDE_CYCLE.value_set(input.cycle_id),
                STRIDE_PHASE.value_set(search_phase(self._state.phase)),
            ]
        )
        times = await self._plan(input)
        while self._cancel is None and self._state.phase not in ENDED:
            version = self._version
            await self._step(times)
            if self._cancel is not None or self._state.phase in ENDED:
                break
            if self._version == version:
                await self._wait_for_change(version, self._next_due(times))
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._cancel is not None and self._state.phase not in ENDED:
            try:
                await workflow.execute_activity(
                    CANCEL_ACTIVITY,
                    RoundRef(self._input.round_id),
                    result_type=RoundView,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=ACTIVITY_RETRY,
                    summary="cancel the round",
                )
            except ActivityError as err:  # refused (e.g. closed meanwhile by hand): logged
                workflow.logger.warning("the round was not cancelled (%s)", err.cause)
            self._state.cancelled_by = self._cancel.actor_id
            self._set_phase(ROUND_CANCELLED)
        return self.state()

    async def _plan(self, input: RoundInput) -> RoundTimes:
        """The round's instants on the organisation's calendar."""
        due, deadline = parse_day(input.nominations_due), parse_day(input.deadline)
        if due is None or deadline is None:
            raise ApplicationError(
                f"nominations_due and deadline must be ISO dates: "
                f"{input.nominations_due!r}, {input.deadline!r}",
                type=INVALID_INPUT_ERROR,
                non_retryable=True,
            )
        today = workflow.now().date()
        info = await org_calendar(
            min(today, due) - timedelta(days=1), max(today, due, deadline) + CALENDAR_MARGIN
        )
        tz = input.time_zone or info.time_zone or DEFAULT_TIME_ZONE
        try:
            zone(tz)
        except ValueError:  # an unknown zone (identity validates it): the default one
            tz = DEFAULT_TIME_ZONE
        self._tz = tz
        self._calendar = WorkCalendar.of(info.holidays, info.working_days)
        self._times = round_times(due, deadline, tz, self._calendar)
        self._state.close_at = rfc3339(self._times.close)
        return self._times

    async def _wait_for_change(self, version: int, due: datetime) -> None:
        """Until something changes (an approval, a cancel), or until ``due``."""
        wait = due - workflow.now()
        if wait <= timedelta(0):
            return
        try:
            await workflow.wait_condition(
                lambda: self._version != version,
                timeout=wait,
                timeout_summary="next round step",
            )
        except TimeoutError:
            pass

    def _next_due(self, times: RoundTimes) -> datetime:
        s = self._state
        due = [times.close]
        if s.phase == ROUND_NOMINATING:
            if not s.nomination_reminded:
                due.append(times.nomination_reminder)
            if not s.manager_asked:
                due.append(times.ask_manager)
            if not s.manager_reminded:
                due.append(times.remind_manager)
        elif s.phase == ROUND_COLLECTING and self._next_reminder < len(self._reminder_times):
            due.append(parse_instant(self._reminder_times[self._next_reminder]))
        return min(due)

    # -- handlers ----------------------------------------------------------------------------

    @workflow.update(name=UPDATE_APPROVE)
    async def approve_nominations(self, update: ApproveNominationsInput) -> RoundState:
        self._approving = True
        try:
            view: RoundView = await workflow.execute_activity(
                APPROVE_ACTIVITY,
                ApproveActivityInput(
                    round_id=self._input.round_id,
                    approver_id=update.actor_id,
                    rater_ids=list(update.rater_ids),
                ),
                result_type=RoundView,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=APPROVE_RETRY,
                summary="approve the nominations",
            )
        except ActivityError as err:
            self._approving = False
            self._version += 1
            cause = err.__cause__
            message = cause.message if isinstance(cause, ApplicationError) else str(err)
            raise ApplicationError(
                f"the list was not approved: {message}", type=ERROR_REFUSED
            ) from err
        self._approving = False
        if self._state.phase == ROUND_NOMINATING:
            self._state.rater_ids = list(view.rater_ids) or list(update.rater_ids)
            self._state.approved_by = update.actor_id
            self._set_phase(ROUND_APPROVED)
        # The raters are invited by the main loop: the person approving does not wait for it.
        self._version += 1
        return self.state()

    @approve_nominations.validator
    def validate_approve_nominations(self, update: ApproveNominationsInput) -> None:
        error = approval_error(
            ROUND_CANCELLED if self._cancel is not None else self._state.phase,
            self._approving,
            self._input.subject_id,
            self._input.manager_id,
            update,
        )
        if error is not None:
            raise ApplicationError(f"approval refused: {error}", type=error, non_retryable=True)

    @workflow.signal(name=SIGNAL_CANCEL)
    def cancel(self, request: CancelRound) -> None:
        if self._cancel is None:
            self._cancel = request
            self._version += 1

    @workflow.query(name=QUERY_STATE)
    def state(self) -> RoundState:
        return _copy(self._state)

    # -- steps -------------------------------------------------------------------------------

    async def _step(self, times: RoundTimes) -> None:
        s = self._state
        if workflow.now() >= times.close:
            # An approval being applied finishes first (the service closes what it approved).
            await workflow.wait_condition(lambda: not self._approving)
            await self._close()
            return
        if s.phase == ROUND_NOMINATING:
            await self._chase_nominations(times)
        elif s.phase == ROUND_APPROVED:
            await self._invite(times)
        elif s.phase == ROUND_COLLECTING:
            await self._remind_raters()

    async def _chase_nominations(self, times: RoundTimes) -> None:
        s = self._state
        subject, manager = [self._input.subject_id], [self._input.manager_id]
        if not self._announced:
            self._announced = True
            # Started after the reminder's time: the announcement says it all.
            s.nomination_reminded = workflow.now() >= times.nomination_reminder
            await self._notify("nominate", FEEDBACK_NOMINATE, subject)
        if (
            s.phase == ROUND_NOMINATING
            and not s.nomination_reminded
            and workflow.now() >= times.nomination_reminder
        ):
            s.nomination_reminded = True
            await self._notify("nomination-reminder", FEEDBACK_NOMINATION_REMINDER, subject)
        if (
            s.phase == ROUND_NOMINATING
            and not s.manager_asked
            and workflow.now() >= times.ask_manager
        ):
            s.manager_asked = True
            s.manager_reminded = workflow.now() >= times.remind_manager
            await self._notify("approval-needed", FEEDBACK_APPROVAL_NEEDED, manager)
        if (
            s.phase == ROUND_NOMINATING
            and not s.manager_reminded
            and workflow.now() >= times.remind_manager
        ):
            s.manager_reminded = True
            await self._notify("approval-reminder", FEEDBACK_APPROVAL_REMINDER, manager)

    async def _invite(self, times: RoundTimes) -> None:
        raters = list(self._state.rater_ids)
        await self._notify("invited", FEEDBACK_INVITED, raters)
        await workflow.execute_activity(
            MARK_INVITED_ACTIVITY,
            MarkInvitedInput(round_id=self._input.round_id, rater_ids=raters),
            result_type=RoundView,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            summary="mark the raters invited",
        )
        now = workflow.now()
        self._state.invited_at = rfc3339(now)
        self._reminder_times = rater_reminders(now, times.close, self._tz, self._calendar)
        self._set_phase(ROUND_COLLECTING)

    async def _remind_raters(self) -> None:
        now = workflow.now()
        due = [
            i
            for i, at in enumerate(self._reminder_times)
            if i >= self._next_reminder and parse_instant(at) <= now
        ]
        if not due:
            return
        # Reminders missed while the worker was down are not sent late: the latest due one.
        number = due[-1]
        self._next_reminder = number + 1
        pending: PendingRaters = await workflow.execute_activity(
            PENDING_RATERS_ACTIVITY,
            RoundRef(self._input.round_id),
            result_type=PendingRaters,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            summary="raters who have not answered",
        )
        recipients = list(pending.employee_ids)
        await self._notify(f"reminder/{number + 1}", FEEDBACK_RATER_REMINDER, recipients)
        self._state.reminders.append(len(recipients))

    async def _close(self) -> None:
        s = self._state
        view: RoundView = await workflow.execute_activity(
            CLOSE_ACTIVITY,
            RoundRef(self._input.round_id),
            result_type=RoundView,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            summary="close the round",
        )
        if view.phase == ROUND_CANCELLED:
            # Cancelled in the service meanwhile: nothing is released, nobody is told.
            self._set_phase(ROUND_CANCELLED)
            return
        s.closed_at = view.closed_at or rfc3339(workflow.now())
        self._set_phase(ROUND_CLOSED)
        if s.invited_at:
            told = [p for p in dict.fromkeys([s.subject_id, s.manager_id]) if p]
            await self._notify("results-ready", FEEDBACK_RESULTS_READY, told)
            s.results_announced = True

    async def _notify(self, step: str, template: str, recipients: list[str]) -> None:
        people = [r for r in recipients if r]
        if not people:
            return
        params = {
            "round_id": self._input.round_id,
            "cycle_id": self._input.cycle_id,
            "subject_id": self._input.subject_id,
            "nominations_due": self._input.nominations_due,
            "deadline": self._input.deadline,
        }
        await tell(self._id, step, template, people, params, retry_policy=ACTIVITY_RETRY)

    def _set_phase(self, phase: str) -> None:
        if phase != self._state.phase:
            self._state.phase = phase
            workflow.upsert_search_attributes([STRIDE_PHASE.value_set(search_phase(phase))])
