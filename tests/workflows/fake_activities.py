"""Fake activities for the cycle and plan-approval workflows: they record every call with
the (skipped) time Temporal scheduled it, and answer from a small fixed organisation.

Used by tests/workflows and tests/replay/record_histories.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.cycle import (
    ARCHIVE_ACTIVITY,
    AUDIENCE_ACTIVITY,
    AUDIENCE_MANAGERS,
    AUDIENCE_NOT_CHECKED_IN,
    AUDIENCE_NOT_SUBMITTED,
    CLOSE_ACTIVITY,
    SET_PHASE_ACTIVITY,
    ArchiveResult,
    AudienceInput,
    SetPhaseInput,
)
from workflows.escalation_notices import (
    DEPARTMENT_HEAD_ACTIVITY,
    RECIPIENTS_ACTIVITY,
    DepartmentHead,
    DepartmentHeadInput,
    Recipients,
    RecipientsInput,
)
from workflows.ladder import (
    HR_NOTICE_ACTIVITY,
    LADDER_POLICY_ACTIVITY,
    SKIP_LEVEL_ACTIVITY,
    Course,
    HrNotice,
    HrNoticeInput,
    LadderPolicy,
    SkipLevel,
    SkipLevelInput,
)
from workflows.monthly_brief import (
    COLLECT_ACTIVITY,
    RENDER_ACTIVITY,
    BriefCollected,
    BriefCollectInput,
    BriefDepartment,
    BriefRenderInput,
)
from workflows.notifications import (
    IM_ACTIVITY,
    IM_TARGETS_ACTIVITY,
    NOTIFY_ACTIVITY,
    ORG_CALENDAR_ACTIVITY,
    ImMessage,
    ImResult,
    ImTarget,
    ImTargetsInput,
    NotifyRequest,
    NotifyResult,
    OrgCalendarInfo,
    OrgCalendarInput,
    Outgoing,
)
from workflows.plan_approval import (
    DECIDE_ACTIVITY,
    ESCALATE_ACTIVITY,
    DecideActivityInput,
    EscalateActivityInput,
    EscalateResult,
)
from workflows.promotion_rules import (
    ELIGIBILITY_ACTIVITY,
    PEOPLE_ACTIVITY,
    RECORD_ACTIVITY,
    CaseRef,
    Eligibility,
    PromotionPeople,
    PromotionStep,
)
from workflows.risk_sweep import ERROR_REFUSED, SWEEP_ACTIVITY, SweepBatchInput, SweepBatchResult
from workflows.round_rules import (
    APPROVE_ACTIVITY,
    CANCEL_ACTIVITY,
    ERROR_SERVICE_REFUSED,
    MARK_INVITED_ACTIVITY,
    PENDING_RATERS_ACTIVITY,
    START_ROUNDS_ACTIVITY,
    ApproveActivityInput,
    MarkInvitedInput,
    PendingRaters,
    RoundRef,
    RoundView,
    StartRoundsInput,
    StartRoundsResult,
)
from workflows.round_rules import (
    CLOSE_ACTIVITY as ROUND_CLOSE_ACTIVITY,
)

SKIP_LEVEL = "emp-skip-level"
MANAGER = "emp-manager"
HR_PEOPLE = ["emp-hr-1", "emp-hr-2"]
# The course the HR fake recommends (the owner was behind before on a comparable key result).
COURSE = Course(
    "course-forecasting",
    "销售预测与管道管理",
    "Sales forecasting and pipeline management",
    "https://learn.example.com/forecasting",
    ["number", "pcs"],
)
# Departments with a head (department_head answers "" for any other).
HEADS = {"dept-purchasing": "emp-purchasing-head"}


@dataclass
class Call:
    name: str
    input: Any
    # When Temporal scheduled the activity (time-skipping server time, UTC).
    at: datetime


@dataclass
class FakeActivities:
    calls: list[Call] = field(default_factory=list)
    # Fails the next N decide calls with a refusal (non-retryable).
    refuse_decisions: int = 0
    # Fails the next N notify attempts *after* delivering (a worker dying before it reports).
    crash_after_notify: int = 0
    # Fails the first notify attempt of each of these templates after delivering.
    crash_once_for: set[str] = field(default_factory=set)
    _sent_keys: set[str] = field(default_factory=set)
    # The organisation's calendar the org_calendar fake answers: no quiet hours unless a test
    # sets them ("22:00", "08:00"), holidays and adjusted working days as ISO dates.
    time_zone: str = "Asia/Shanghai"
    quiet_start: str = "00:00"
    quiet_end: str = "00:00"
    holidays: list[str] = field(default_factory=list)
    working_days: list[str] = field(default_factory=list)
    # Robots by recipient: recipient id -> (department id, kind).
    robots: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The ladder: its settings, the owner's skip-level manager ("" none), HR and courses.
    ladder: LadderPolicy = field(default_factory=LadderPolicy)
    skip_level: str = SKIP_LEVEL
    hr_people: list[str] = field(default_factory=lambda: list(HR_PEOPLE))
    courses: list[Course] = field(default_factory=lambda: [COURSE])

    def _record(self, name: str, value: Any) -> None:
        self.calls.append(Call(name, value, activity.info().current_attempt_scheduled_time))

    def of(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def notifications(self, template: str | None = None) -> list[NotifyRequest]:
        return [
            c.input
            for c in self.of(NOTIFY_ACTIVITY)
            if template is None or c.input.template == template
        ]

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.notify,
            self.decide,
            self.escalate,
            self.set_phase,
            self.audience,
            self.close,
            self.archive,
            self.recipients,
            self.department_head,
            self.org_calendar,
            self.im_targets,
            self.notify_im,
            self.ladder_policy,
            self.skip_level_manager,
            self.hr_notice_recipients,
        ]

    @activity.defn(name=LADDER_POLICY_ACTIVITY)
    async def ladder_policy(self) -> LadderPolicy:
        self._record(LADDER_POLICY_ACTIVITY, None)
        return self.ladder

    @activity.defn(name=SKIP_LEVEL_ACTIVITY)
    async def skip_level_manager(self, input: SkipLevelInput) -> SkipLevel:
        self._record(SKIP_LEVEL_ACTIVITY, input)
        return SkipLevel(input.owner_id, self.skip_level)

    @activity.defn(name=HR_NOTICE_ACTIVITY)
    async def hr_notice_recipients(self, input: HrNoticeInput) -> HrNotice:
        self._record(HR_NOTICE_ACTIVITY, input)
        behind = ["kr-last-quarter"] if self.courses else []
        return HrNotice(list(self.hr_people), behind, list(self.courses))

    @activity.defn(name=ORG_CALENDAR_ACTIVITY)
    async def org_calendar(self, input: OrgCalendarInput) -> OrgCalendarInfo:
        self._record(ORG_CALENDAR_ACTIVITY, input)
        return OrgCalendarInfo(
            self.time_zone,
            self.quiet_start,
            self.quiet_end,
            list(self.holidays),
            list(self.working_days),
        )

    @activity.defn(name=IM_TARGETS_ACTIVITY)
    async def im_targets(self, input: ImTargetsInput) -> list[ImTarget]:
        self._record(IM_TARGETS_ACTIVITY, input)
        found: dict[tuple[str, str], str] = {}
        for person in input.recipient_ids:
            if person in self.robots:
                found.setdefault(self.robots[person], person)
        return [ImTarget(dep, kind, person) for (dep, kind), person in found.items()]

    @activity.defn(name=IM_ACTIVITY)
    async def notify_im(self, message: ImMessage) -> ImResult:
        self._record(IM_ACTIVITY, message)
        return ImResult(posted=True)

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, request: NotifyRequest) -> NotifyResult:
        self._record(NOTIFY_ACTIVITY, request)
        fresh = 0
        for m in request.messages:
            key = f"{request.key}/{m.recipient_id}"
            if key not in self._sent_keys:
                self._sent_keys.add(key)
                fresh += 1
        if self.crash_after_notify > 0:
            self.crash_after_notify -= 1
            raise RuntimeError("worker lost after delivering")
        if request.template in self.crash_once_for:
            self.crash_once_for.discard(request.template)
            raise RuntimeError("worker lost after delivering")
        return NotifyResult(delivered=fresh, already_delivered=len(request.messages) - fresh)

    @activity.defn(name=DECIDE_ACTIVITY)
    async def decide(self, input: DecideActivityInput) -> None:
        self._record(DECIDE_ACTIVITY, input)
        if self.refuse_decisions > 0:
            from temporalio.exceptions import ApplicationError

            self.refuse_decisions -= 1
            raise ApplicationError(
                "goals: FAILED_PRECONDITION", type="decision_refused", non_retryable=True
            )

    @activity.defn(name=ESCALATE_ACTIVITY)
    async def escalate(self, input: EscalateActivityInput) -> EscalateResult:
        self._record(ESCALATE_ACTIVITY, input)
        return EscalateResult(approver_ids=["emp-manager", SKIP_LEVEL], added=[SKIP_LEVEL])

    @activity.defn(name=SET_PHASE_ACTIVITY)
    async def set_phase(self, input: SetPhaseInput) -> None:
        self._record(SET_PHASE_ACTIVITY, input)

    @activity.defn(name=AUDIENCE_ACTIVITY)
    async def audience(self, input: AudienceInput) -> list[Outgoing]:
        self._record(AUDIENCE_ACTIVITY, input)
        base = {"cycle_id": input.cycle_id, "week": input.week}
        if input.audience == AUDIENCE_NOT_SUBMITTED:
            return [Outgoing("emp-1", base), Outgoing("emp-2", base)]
        if input.audience == AUDIENCE_NOT_CHECKED_IN:
            return [Outgoing("emp-1", {**base, "pending": "2"})]
        if input.audience == AUDIENCE_MANAGERS:
            return [Outgoing("emp-manager", {**base, "reports": "2", "checked_in": "1"})]
        return [Outgoing("emp-1", base), Outgoing("emp-2", base)]

    @activity.defn(name=RECIPIENTS_ACTIVITY)
    async def recipients(self, input: RecipientsInput) -> Recipients:
        self._record(RECIPIENTS_ACTIVITY, input)
        return Recipients(owner_id=input.owner_id, manager_id=MANAGER)

    @activity.defn(name=DEPARTMENT_HEAD_ACTIVITY)
    async def department_head(self, input: DepartmentHeadInput) -> DepartmentHead:
        self._record(DEPARTMENT_HEAD_ACTIVITY, input)
        return DepartmentHead(input.department_id, HEADS.get(input.department_id, ""))

    def delivered(self) -> set[str]:
        """Delivery keys delivered at least once (a retry of the same key adds nothing)."""
        return set(self._sent_keys)

    @activity.defn(name=CLOSE_ACTIVITY)
    async def close(self, cycle_id: str) -> None:
        self._record(CLOSE_ACTIVITY, cycle_id)

    @activity.defn(name=ARCHIVE_ACTIVITY)
    async def archive(self, cycle_id: str) -> ArchiveResult:
        self._record(ARCHIVE_ACTIVITY, cycle_id)
        return ArchiveResult(created=3, updated=0, scored=True)


@dataclass
class SweepStand:
    """Stands in for goals' SweepRisk: ``key_results`` statuses ("at_risk", "behind",
    "on_track", "skip"), swept once per week (a second sweep of a week: already swept)."""

    key_results: list[str]
    # Attempts of these batch numbers (1-based) that fail before answering.
    fail_batches: dict[int, int] = field(default_factory=dict)
    refuse: bool = False
    calls: list[tuple[SweepBatchInput, int, datetime]] = field(default_factory=list)
    swept: set[tuple[str, int]] = field(default_factory=set)

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep(self, input: SweepBatchInput) -> SweepBatchResult:
        info = activity.info()
        self.calls.append((input, info.attempt, info.current_attempt_scheduled_time))
        if self.refuse:
            raise ApplicationError("goals: INVALID_ARGUMENT invalid_week", type=ERROR_REFUSED)
        size = input.batch_size or 500
        start = int(input.page_token or 0)
        batch = start // size + 1
        if self.fail_batches.get(batch, 0) > 0:
            self.fail_batches[batch] -= 1
            raise RuntimeError("goals unavailable")
        out = SweepBatchResult()
        chunk = self.key_results[start : start + size]
        for i, status in enumerate(chunk, start):
            out.examined += 1
            if status == "skip":
                out.skipped += 1
            elif (input.week, i) in self.swept:
                out.skipped += 1
                out.already_swept += 1
            else:
                self.swept.add((input.week, i))
                out.swept += 1
                setattr(out, status, getattr(out, status) + 1)
        end = start + len(chunk)
        out.next_page_token = str(end) if len(chunk) == size else ""
        return out


@dataclass
class RoundStand:
    """Stands in for the feedback service's RoundService behind the round workflow's
    activities: approves, invites, answers (a test calls :meth:`answer`) and closes one round
    at a time, recording every call with its (skipped) time."""

    calls: list[Call] = field(default_factory=list)
    # Fails the next N approvals with a refusal (non-retryable).
    refuse_approvals: int = 0
    raters: list[str] = field(default_factory=list)
    answered: set[str] = field(default_factory=set)
    phase: str = "nominating"

    def _record(self, name: str, value: Any) -> None:
        self.calls.append(Call(name, value, activity.info().current_attempt_scheduled_time))

    def of(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def answer(self, *rater_ids: str) -> None:
        self.answered.update(rater_ids)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.approve,
            self.mark_invited,
            self.pending_raters,
            self.close,
            self.cancel,
            self.start_rounds,
        ]

    def _view(self, round_id: str, closed_at: str = "") -> RoundView:
        return RoundView(round_id, self.phase, list(self.raters), closed_at)

    @activity.defn(name=APPROVE_ACTIVITY)
    async def approve(self, input: ApproveActivityInput) -> RoundView:
        self._record(APPROVE_ACTIVITY, input)
        if self.refuse_approvals > 0:
            self.refuse_approvals -= 1
            raise ApplicationError(
                "feedback: INVALID_ARGUMENT unknown_rater",
                type=ERROR_SERVICE_REFUSED,
                non_retryable=True,
            )
        self.raters, self.phase = list(input.rater_ids), "approved"
        return self._view(input.round_id)

    @activity.defn(name=MARK_INVITED_ACTIVITY)
    async def mark_invited(self, input: MarkInvitedInput) -> RoundView:
        self._record(MARK_INVITED_ACTIVITY, input)
        self.phase = "collecting"
        return self._view(input.round_id)

    @activity.defn(name=PENDING_RATERS_ACTIVITY)
    async def pending_raters(self, input: RoundRef) -> PendingRaters:
        self._record(PENDING_RATERS_ACTIVITY, input)
        return PendingRaters([r for r in self.raters if r not in self.answered])

    @activity.defn(name=ROUND_CLOSE_ACTIVITY)
    async def close(self, input: RoundRef) -> RoundView:
        self._record(ROUND_CLOSE_ACTIVITY, input)
        if self.phase == "cancelled":  # cancelled in the service: closing returns it as is
            return self._view(input.round_id)
        self.phase = "closed"
        closed_at = activity.info().current_attempt_scheduled_time
        return self._view(input.round_id, closed_at.strftime("%Y-%m-%dT%H:%M:%SZ"))

    @activity.defn(name=CANCEL_ACTIVITY)
    async def cancel(self, input: RoundRef) -> RoundView:
        self._record(CANCEL_ACTIVITY, input)
        self.phase = "cancelled"
        return self._view(input.round_id)

    @activity.defn(name=START_ROUNDS_ACTIVITY)
    async def start_rounds(self, input: StartRoundsInput) -> StartRoundsResult:
        self._record(START_ROUNDS_ACTIVITY, input)
        return StartRoundsResult(started=5, already=1)


@dataclass
class PromotionStand:
    """Stands in for the feedback service's PromotionService behind the promotion workflow's
    activities: the candidate's manager and reporting line, HR, the eligibility answer, and
    every recorded step (with its skipped time)."""

    calls: list[Call] = field(default_factory=list)
    manager_id: str = "emp-manager"
    reporting_line: list[str] = field(default_factory=lambda: ["emp-manager", "emp-director"])
    hr_ids: list[str] = field(default_factory=lambda: list(HR_PEOPLE))
    eligibility: Eligibility = field(default_factory=lambda: Eligibility(True, []))

    def _record(self, name: str, value: Any) -> None:
        self.calls.append(Call(name, value, activity.info().current_attempt_scheduled_time))

    def steps(self) -> list[PromotionStep]:
        return [c.input for c in self.calls if c.name == RECORD_ACTIVITY]

    def all(self) -> list[Callable[..., Any]]:
        return [self.people, self.eligible, self.record]

    @activity.defn(name=PEOPLE_ACTIVITY)
    async def people(self, input: CaseRef) -> PromotionPeople:
        self._record(PEOPLE_ACTIVITY, input)
        return PromotionPeople(self.manager_id, list(self.reporting_line), list(self.hr_ids))

    @activity.defn(name=ELIGIBILITY_ACTIVITY)
    async def eligible(self, input: CaseRef) -> Eligibility:
        self._record(ELIGIBILITY_ACTIVITY, input)
        return self.eligibility

    @activity.defn(name=RECORD_ACTIVITY)
    async def record(self, step: PromotionStep) -> None:
        self._record(RECORD_ACTIVITY, step)


# --- the month-end brief (workflows/monthly_brief.py) ---------------------------------------
@dataclass
class BriefStand:
    collected: BriefCollected
    months: list[str] = field(default_factory=list)
    rendered: list[tuple[str, str]] = field(default_factory=list)

    @activity.defn(name=COLLECT_ACTIVITY)
    async def collect(self, input: BriefCollectInput) -> BriefCollected:
        self.months.append(input.month)
        return self.collected

    @activity.defn(name=RENDER_ACTIVITY)
    async def render(self, input: BriefRenderInput) -> None:
        self.rendered.append((input.month, input.department_id))


BRIEF_ORG = BriefCollected(
    departments=[
        BriefDepartment("d-eng", "head-eng"),
        BriefDepartment("d-qa", "ceo"),  # the CEO heads QA too: one e-mail, as executive
        BriefDepartment("d-ops", ""),
    ],
    executive_ids=["ceo", "coo"],
)
