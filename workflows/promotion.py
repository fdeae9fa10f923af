"""A promotion review: ``promotion/<case>``.

Started by the event bridge when the feedback service emits
``stride.feedback.v1.promotion.applied`` (the candidate or their manager applied). The case's
data lives in the feedback service; the workflow drives it through time and people, and has
the service record (and audit) every step (activity ``promotion_record``):

eligibility    ``promotion_eligibility`` checks the HR rules (recent final ratings, tenure);
               ineligible → rejected with the reasons, the candidate and applicant told.
endorsement    the candidate's manager is asked; Update ``endorse`` (validator: the manager)
               endorses (→ panel) or declines (→ rejected). No manager: straight to panel.
panel          HR is asked to name the panel; Update ``set_panel`` (HR; no member in conflict
               of interest: the candidate, the manager, anyone in the reporting line) invites
               the members, who have ``panel_working_days`` working days. Update ``score``
               (validator: a member, not conflicted, once, in range). Once every member scored,
               or at the deadline with the quorum reached, the mean decides: below the pass
               score → rejected; else publicity. At the deadline without quorum HR is told
               once (it may name a new panel).
publicity      (公示) ``publicity_working_days`` working days on the organisation's calendar;
               Update ``object`` (any employee but the candidate, with a reason) notifies HR.
investigation  the period is over but objections are open. Update ``resolve_objection`` (HR,
               any time): dismiss, or uphold → back to a new panel or rejected.
decision       HR is asked; Update ``decide`` (HR) approves or rejects with a comment.
approved / rejected / withdrawn: the candidate, the applicant, the manager and the panel are
told. Update ``withdraw`` (the candidate or the applicant) ends it at any point.

Query ``state``. Search attribute StridePhase ``promotion:<phase>``; ids only.

Over ~400 lines: the steps and the seven Updates (each with its validator) are one state
machine over the case's phases, read and changed together; the pure rules and validators are
already apart (workflows/promotion_rules.py), splitting the handlers from the steps would
scatter the phase transitions.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.calendar import WorkCalendar, add_working_days, parse_instant, rfc3339, zone
from workflows.delivery import org_calendar, service_retry, tell
from workflows.notifications import (
    PROMOTION_DECIDED,
    PROMOTION_DECISION_NEEDED,
    PROMOTION_ENDORSE_NEEDED,
    PROMOTION_INELIGIBLE,
    PROMOTION_OBJECTION,
    PROMOTION_PANEL_NEEDED,
    PROMOTION_PANEL_OVERDUE,
    PROMOTION_PUBLICITY_NOTICE,
    PROMOTION_SCORE_NEEDED,
    PROMOTION_WITHDRAWN_NOTICE,
)
from workflows.promotion_rules import (
    ELIGIBILITY_ACTIVITY,
    ERROR_BUSY,
    ERROR_REFUSED,
    ERROR_SERVICE_REFUSED,
    PEOPLE_ACTIVITY,
    QUERY_STATE,
    RECORD_ACTIVITY,
    STEP_DECIDED,
    STEP_DECLINED,
    STEP_ELIGIBILITY,
    STEP_ENDORSED,
    STEP_OBJECTION,
    STEP_PANEL,
    STEP_PHASE,
    STEP_PUBLICITY,
    STEP_RESOLVED,
    STEP_SCORE,
    STEP_WITHDRAWN,
    UPDATE_DECIDE,
    UPDATE_ENDORSE,
    UPDATE_OBJECT,
    UPDATE_RESOLVE,
    UPDATE_SCORE,
    UPDATE_SET_PANEL,
    UPDATE_WITHDRAW,
    CaseRef,
    Decide,
    Eligibility,
    Endorse,
    Objection,
    ObjectionState,
    PanelScore,
    PromotionInput,
    PromotionPeople,
    PromotionState,
    PromotionStep,
    ResolveObjection,
    Score,
    SetPanel,
    Withdraw,
    decide_error,
    endorse_error,
    mean,
    object_error,
    open_objections,
    panel_error,
    publicity_end,
    quorum_of,
    resolve_error,
    score_error,
    search_phase,
    withdraw_error,
)
from workflows.search_attributes import STRIDE_PHASE
from workflows.vocabulary import (
    DEFAULT_TIME_ZONE,
    OBJECTION_BACK_TO_PANEL,
    OBJECTION_DISMISSED,
    OBJECTION_UPHELD,
    PROMOTION_APPROVED,
    PROMOTION_DECISION,
    PROMOTION_ELIGIBILITY,
    PROMOTION_ENDED,
    PROMOTION_ENDORSEMENT,
    PROMOTION_INVESTIGATION,
    PROMOTION_PANEL,
    PROMOTION_PASS_SCORE,
    PROMOTION_PUBLICITY,
    PROMOTION_REJECTED,
    PROMOTION_WITHDRAWN,
)

# How far ahead the organisation's calendar is read for a deadline (a few weeks at most).
CALENDAR_MARGIN = timedelta(days=90)
# Reasons of a rejection that is not the eligibility's.
REASON_DECLINED = "manager_declined"
REASON_BELOW_PASS = "panel_below_pass_score"
REASON_OBJECTION = "objection_upheld"
REASON_HR = "hr_rejected"

ACTIVITY_RETRY = service_retry(ERROR_SERVICE_REFUSED)
# A step recorded for a person waiting on an HTTP request: give up sooner.
UPDATE_RETRY = replace(ACTIVITY_RETRY, maximum_attempts=4)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
T = TypeVar("T")


def _refused(error: str | None) -> None:
    if error is not None:
        raise ApplicationError(f"refused: {error}", type=error, non_retryable=True)


@workflow.defn
class PromotionWorkflow:
    @workflow.init
    def __init__(self, input: PromotionInput) -> None:
        self._input = input
        self._id = ""
        self._state = PromotionState(
            case_id=input.case_id,
            candidate_id=input.candidate_id,
            applicant_id=input.applicant_id,
            current_grade=input.current_grade,
            target_grade=input.target_grade,
        )
        self._line: list[str] = []
        self._hr: list[str] = []
        # A deciding Update is being recorded (another one is refused meanwhile).
        self._busy = False
        self._scoring: set[str] = set()
        self._next_objection = 0
        self._panel_asked = 0
        self._invited: set[str] = set()
        self._ineligible = False
        self._version = 0
        self._sequence = 0

    @workflow.run
    async def run(self, input: PromotionInput) -> PromotionState:
        self._id = workflow.info().workflow_id
        workflow.upsert_search_attributes([STRIDE_PHASE.value_set(search_phase(self._phase))])
        people: PromotionPeople = await self._activity(
            PEOPLE_ACTIVITY, CaseRef(input.case_id, input.candidate_id), PromotionPeople
        )
        self._state.manager_id = people.manager_id
        self._line = list(people.reporting_line)
        self._hr = list(people.hr_ids)
        if self._phase == PROMOTION_ELIGIBILITY:
            await self._check_eligibility()
        while self._phase not in PROMOTION_ENDED:
            version = self._version
            await self._step()
            if self._phase in PROMOTION_ENDED:
                break
            if self._version == version:
                await self._wait_for_change(version, self._next_due())
        await workflow.wait_condition(lambda: not self._busy and not self._scoring)
        await self._announce_end()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @property
    def _phase(self) -> str:
        return self._state.phase

    # -- steps -------------------------------------------------------------------------------

    async def _check_eligibility(self) -> None:
        found: Eligibility = await self._activity(
            ELIGIBILITY_ACTIVITY,
            CaseRef(self._input.case_id, self._input.candidate_id),
            Eligibility,
        )
        if self._phase != PROMOTION_ELIGIBILITY:  # withdrawn meanwhile
            return
        if not found.eligible:
            self._state.reasons = list(found.reasons)
            self._ineligible = True
            self._set_phase(PROMOTION_REJECTED)
            await self._record(STEP_ELIGIBILITY, "", reasons=list(found.reasons))
            return
        self._set_phase(PROMOTION_ENDORSEMENT if self._state.manager_id else PROMOTION_PANEL)
        await self._record(STEP_ELIGIBILITY, "")
        if self._phase == PROMOTION_ENDORSEMENT:
            await self._notify("endorse", PROMOTION_ENDORSE_NEEDED, [self._state.manager_id])

    async def _step(self) -> None:
        s = self._state
        now = workflow.now()
        if self._phase == PROMOTION_PANEL:
            if self._panel_asked < s.panel_rounds + 1 and not s.panel:
                self._panel_asked = s.panel_rounds + 1
                await self._notify(f"panel/{self._panel_asked}", PROMOTION_PANEL_NEEDED, self._hr)
            fresh = [m for m in s.panel if m not in self._invited]
            if fresh:
                self._invited.update(fresh)
                await self._notify(f"score/{s.panel_rounds}", PROMOTION_SCORE_NEEDED, fresh)
            if s.panel and self._phase == PROMOTION_PANEL:
                await self._close_panel(now)
        elif self._phase == PROMOTION_PUBLICITY and now >= parse_instant(s.publicity_end):
            self._set_phase(PROMOTION_INVESTIGATION)
            await self._record(STEP_PHASE, "")
        if self._phase == PROMOTION_INVESTIGATION and not open_objections(s):
            self._set_phase(PROMOTION_DECISION)
            await self._record(STEP_PHASE, "")
            await self._notify(f"decide/{s.panel_rounds}", PROMOTION_DECISION_NEEDED, self._hr)

    async def _close_panel(self, now: datetime) -> None:
        s = self._state
        due = parse_instant(s.panel_due)
        scored = len(s.scores)
        enough = scored >= quorum_of(self._input.quorum, len(s.panel))
        if scored < len(s.panel) and not (enough and now >= due):
            if now >= due and not s.panel_overdue_notified:
                s.panel_overdue_notified = True
                await self._notify(f"overdue/{s.panel_rounds}", PROMOTION_PANEL_OVERDUE, self._hr)
            return
        s.mean_score = mean(s.scores)
        if s.mean_score < PROMOTION_PASS_SCORE:
            s.reasons = [REASON_BELOW_PASS]
            self._set_phase(PROMOTION_REJECTED)
            await self._record(STEP_PHASE, "", reasons=[REASON_BELOW_PASS])
            return
        tz, calendar = await self._calendar()
        s.publicity_start = rfc3339(now)
        end = publicity_end(now, self._input.publicity_working_days, tz, calendar)
        s.publicity_end = rfc3339(end)
        self._set_phase(PROMOTION_PUBLICITY)
        await self._record(STEP_PUBLICITY, "", text=s.publicity_end)
        told = [s.candidate_id, s.manager_id, *s.panel, *self._hr]
        await self._notify(f"publicity/{s.panel_rounds}", PROMOTION_PUBLICITY_NOTICE, told)

    def _next_due(self) -> datetime | None:
        s = self._state
        if self._phase == PROMOTION_PANEL and s.panel_due:
            due = parse_instant(s.panel_due)
            if not s.panel_overdue_notified or due > workflow.now():
                return due
        if self._phase == PROMOTION_PUBLICITY:
            return parse_instant(s.publicity_end)
        return None

    async def _wait_for_change(self, version: int, due: datetime | None) -> None:
        if due is None:
            await workflow.wait_condition(lambda: self._version != version)
            return
        wait = due - workflow.now()
        if wait <= timedelta(0):
            return
        try:
            await workflow.wait_condition(
                lambda: self._version != version, timeout=wait, timeout_summary="next step"
            )
        except TimeoutError:
            pass

    async def _announce_end(self) -> None:
        s = self._state
        if self._ineligible:
            told = [s.candidate_id, s.applicant_id]
            await self._notify("ineligible", PROMOTION_INELIGIBLE, told)
            return
        told = [s.candidate_id, s.applicant_id, s.manager_id, *s.panel]
        if s.phase == PROMOTION_WITHDRAWN:
            await self._notify("withdrawn", PROMOTION_WITHDRAWN_NOTICE, [*told, *self._hr])
        else:
            await self._notify("decided", PROMOTION_DECIDED, told)

    # -- handlers ----------------------------------------------------------------------------

    @workflow.update(name=UPDATE_ENDORSE)
    async def endorse(self, update: Endorse) -> PromotionState:
        step = STEP_ENDORSED if update.endorse else STEP_DECLINED
        phase = PROMOTION_PANEL if update.endorse else PROMOTION_REJECTED
        async with self._deciding():
            await self._record(step, update.actor_id, text=update.comment, phase=phase, retry=False)
        self._state.endorsed_by = update.actor_id if update.endorse else ""
        if not update.endorse:
            self._state.reasons = [REASON_DECLINED]
        self._set_phase(phase)
        return self.state()

    @endorse.validator
    def _validate_endorse(self, update: Endorse) -> None:
        _refused(self._busy_error() or endorse_error(self._state, update))

    @workflow.update(name=UPDATE_SET_PANEL)
    async def set_panel(self, update: SetPanel) -> PromotionState:
        members = list(update.member_ids)
        async with self._deciding():
            await self._record(STEP_PANEL, update.actor_id, member_ids=members, retry=False)
            tz, calendar = await self._calendar()
        s = self._state
        s.panel = members
        s.scores = [x for x in s.scores if x.member_id in members]
        s.panel_due = rfc3339(
            add_working_days(workflow.now(), self._input.panel_working_days, tz, calendar)
        )
        s.panel_overdue_notified = False
        self._version += 1
        return self.state()

    @set_panel.validator
    def _validate_set_panel(self, update: SetPanel) -> None:
        _refused(self._busy_error() or panel_error(self._state, self._line, update))

    @workflow.update(name=UPDATE_SCORE)
    async def score(self, update: Score) -> PromotionState:
        self._scoring.add(update.actor_id)
        try:
            await self._record_for(
                STEP_SCORE, update.actor_id, score=update.score, text=update.comment
            )
            self._state.scores.append(PanelScore(update.actor_id, update.score, update.comment))
        finally:
            self._scoring.discard(update.actor_id)
            self._version += 1
        return self.state()

    @score.validator
    def _validate_score(self, update: Score) -> None:
        busy = ERROR_BUSY if self._busy or update.actor_id in self._scoring else None
        _refused(busy or score_error(self._state, self._line, update))

    @workflow.update(name=UPDATE_OBJECT)
    async def raise_objection(self, update: Objection) -> PromotionState:
        self._next_objection += 1
        number = self._next_objection
        await self._record_for(
            STEP_OBJECTION, update.actor_id, objection=number, text=update.reason
        )
        raised = rfc3339(workflow.now())
        self._state.objections.append(
            ObjectionState(number, update.actor_id, update.reason.strip(), raised)
        )
        self._version += 1
        await self._notify(f"objection/{number}", PROMOTION_OBJECTION, self._hr, objection=number)
        return self.state()

    @raise_objection.validator
    def _validate_object(self, update: Objection) -> None:
        _refused(object_error(self._state, update))

    @workflow.update(name=UPDATE_RESOLVE)
    async def resolve_objection(self, update: ResolveObjection) -> PromotionState:
        s = self._state
        status = OBJECTION_UPHELD if update.uphold else OBJECTION_DISMISSED
        outcome = update.outcome if update.uphold else ""
        phase = s.phase
        if update.uphold:
            phase = PROMOTION_PANEL if outcome == OBJECTION_BACK_TO_PANEL else PROMOTION_REJECTED
        async with self._deciding():
            await self._record(
                STEP_RESOLVED,
                update.actor_id,
                objection=update.number,
                outcome=status if not outcome else f"{status}:{outcome}",
                text=update.comment,
                phase=phase,
                retry=False,
            )
        for o in s.objections:
            if o.number == update.number:
                o.status, o.outcome, o.comment = status, outcome, update.comment
        if phase == PROMOTION_PANEL and update.uphold:
            s.panel_rounds += 1
            self._invited.clear()
            s.panel, s.scores, s.panel_due = [], [], ""
            s.mean_score, s.publicity_start, s.publicity_end = 0.0, "", ""
        elif phase == PROMOTION_REJECTED:
            s.reasons = [REASON_OBJECTION]
            s.decided_by, s.decision_comment = update.actor_id, update.comment
        self._set_phase(phase)
        return self.state()

    @resolve_objection.validator
    def _validate_resolve(self, update: ResolveObjection) -> None:
        _refused(self._busy_error() or resolve_error(self._state, update))

    @workflow.update(name=UPDATE_DECIDE)
    async def decide(self, update: Decide) -> PromotionState:
        phase = PROMOTION_APPROVED if update.approve else PROMOTION_REJECTED
        async with self._deciding():
            await self._record(
                STEP_DECIDED, update.actor_id, text=update.comment, phase=phase, retry=False
            )
        s = self._state
        s.decided_by, s.decision_comment = update.actor_id, update.comment
        if not update.approve:
            s.reasons = [REASON_HR]
        self._set_phase(phase)
        return self.state()

    @decide.validator
    def _validate_decide(self, update: Decide) -> None:
        _refused(self._busy_error() or decide_error(self._state, update))

    @workflow.update(name=UPDATE_WITHDRAW)
    async def withdraw(self, update: Withdraw) -> PromotionState:
        async with self._deciding():
            await self._record(
                STEP_WITHDRAWN,
                update.actor_id,
                text=update.reason,
                phase=PROMOTION_WITHDRAWN,
                retry=False,
            )
        self._state.withdrawn_by = update.actor_id
        self._set_phase(PROMOTION_WITHDRAWN)
        return self.state()

    @withdraw.validator
    def _validate_withdraw(self, update: Withdraw) -> None:
        _refused(self._busy_error() or withdraw_error(self._state, update))

    @workflow.query(name=QUERY_STATE)
    def state(self) -> PromotionState:
        s = self._state
        return replace(
            s,
            reasons=list(s.reasons),
            panel=list(s.panel),
            scores=[replace(x) for x in s.scores],
            objections=[replace(o) for o in s.objections],
        )

    # -- helpers -----------------------------------------------------------------------------

    def _busy_error(self) -> str | None:
        return ERROR_BUSY if self._busy else None

    def _deciding(self) -> _Deciding:
        return _Deciding(self)

    async def _calendar(self) -> tuple[str, WorkCalendar]:
        today = workflow.now().date()
        info = await org_calendar(today - timedelta(days=1), today + CALENDAR_MARGIN)
        tz = self._input.time_zone or info.time_zone or DEFAULT_TIME_ZONE
        try:
            zone(tz)
        except ValueError:
            tz = DEFAULT_TIME_ZONE
        return tz, WorkCalendar.of(info.holidays, info.working_days)

    async def _activity(self, name: str, arg: object, result_type: type[T]) -> T:
        found: T = await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            summary=name,
        )
        return found

    async def _record(
        self, step: str, actor_id: str, *, phase: str = "", retry: bool = True, **fields: Any
    ) -> None:
        self._sequence += 1
        record = PromotionStep(
            case_id=self._input.case_id,
            step=step,
            actor_id=actor_id,
            phase=phase or self._phase,
            sequence=self._sequence,
            **fields,
        )
        await workflow.execute_activity(
            RECORD_ACTIVITY,
            record,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY if retry else UPDATE_RETRY,
            summary=f"record {step}",
        )

    async def _record_for(self, step: str, actor_id: str, **fields: Any) -> None:
        """A step recorded for a person waiting on the Update: a refusal answers them."""
        try:
            await self._record(step, actor_id, retry=False, **fields)
        except ActivityError as err:
            cause = err.__cause__
            message = cause.message if isinstance(cause, ApplicationError) else str(err)
            raise ApplicationError(f"not recorded: {message}", type=ERROR_REFUSED) from err

    async def _notify(
        self, step: str, template: str, recipients: list[str], **extra: object
    ) -> None:
        people = list(dict.fromkeys(r for r in recipients if r))
        if not people:
            return
        s = self._state
        params = {
            "case_id": s.case_id,
            "candidate_id": s.candidate_id,
            "target_grade": s.target_grade,
            "panel_due": s.panel_due,
            "publicity_end": s.publicity_end,
            "outcome": s.phase,
            "reasons": ", ".join(s.reasons),
            "comment": s.decision_comment,
            **{k: str(v) for k, v in extra.items()},
        }
        await tell(self._id, step, template, people, params, retry_policy=ACTIVITY_RETRY)

    def _set_phase(self, phase: str) -> None:
        if phase != self._state.phase:
            self._state.phase = phase
            workflow.upsert_search_attributes([STRIDE_PHASE.value_set(search_phase(phase))])
        self._version += 1


class _Deciding:
    """Marks the workflow busy while a deciding Update records its step; a refusal by the
    service answers the Update (the state is not changed)."""

    def __init__(self, flow: PromotionWorkflow) -> None:
        self._flow = flow

    async def __aenter__(self) -> None:
        self._flow._busy = True

    async def __aexit__(self, kind: object, err: BaseException | None, tb: object) -> bool:
        self._flow._busy = False
        self._flow._version += 1
        if isinstance(err, ActivityError):
            cause = err.__cause__
            message = cause.message if isinstance(cause, ApplicationError) else str(err)
            raise ApplicationError(f"not recorded: {message}", type=ERROR_REFUSED) from err
        return False
