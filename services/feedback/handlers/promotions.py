"""Promotion reviews: applying, reading cases, HR's eligibility rules, and the steps the
``promotion/<case>`` workflow records (each with its audit entry).

Reads are decided here: HR reads every case (objection authors, every score, the step log);
the candidate, the applicant, the manager and the panel read their own cases (a panel
member sees their own score); anyone else gets ``promotion_not_found``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.common.paging import next_page_token, page_window
from services.common.runtime import ServiceContext
from services.common.text import checked_text
from services.common.uow import UnitOfWork, Units
from services.feedback import archive_repository
from services.feedback.clients import Org
from services.feedback.domain import promotions as rules
from services.feedback.domain.rounds import permission_denied
from services.feedback.events import EVENTS
from services.feedback.handlers.shared import concurrent
from services.feedback.promotion_messages import case_pb, rules_of, rules_pb
from services.feedback.promotion_models import (
    PromotionCase,
    PromotionObjection,
    PromotionRules,
    PromotionScore,
    PromotionStepRow,
)
from services.feedback.promotion_repository import PromotionRepository
from stride.feedback.v1 import promotions_pb2 as pb
from workflows.promotion_rules import (
    STEP_DECIDED,
    STEP_OBJECTION,
    STEP_PANEL,
    STEP_PUBLICITY,
    STEP_RESOLVED,
    STEP_SCORE,
    STEP_WITHDRAWN,
    STEPS,
    conflicted,
)
from workflows.vocabulary import (
    MAX_COMMENT,
    OBJECTION_BACK_TO_PANEL,
    OBJECTION_OPEN,
    PROMOTION_ELIGIBILITY,
    PROMOTION_ENDED,
    PROMOTION_PHASES,
    PROMOTION_SCORE_MAX,
    PROMOTION_SCORE_MIN,
)

RESOURCE = "promotion_case"
PromotionUow = UnitOfWork[PromotionRepository]


@dataclass(frozen=True)
class PromotionDeps:
    units: Units[PromotionRepository]
    org: Org
    time_zone: str

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PromotionRepository]:
        async with self.units.sessions() as session:
            yield PromotionRepository(session)


def promotion_deps(ctx: ServiceContext, org: Org) -> PromotionDeps:
    return PromotionDeps(
        Units(ctx.sessions, PromotionRepository, EVENTS, ctx.outbox_committed),
        org,
        ctx.settings.time_zone,
    )


def not_found() -> NotFound:
    return NotFound("promotion_not_found", "promotion case not found")


async def _case(repo: PromotionRepository, case_id: str, *, lock: bool = False) -> PromotionCase:
    row = await repo.case(case_id, lock=lock) if case_id else None
    if row is None:
        raise not_found()
    return row


async def _full(repo: PromotionRepository, row: PromotionCase) -> pb.PromotionCase:
    return case_pb(
        row,
        await repo.scores(row.id, row.panel_round),
        await repo.objections(row.id),
        await repo.steps(row.id),
    )


# --- apply and read ---------------------------------------------------------------------------
async def apply(deps: PromotionDeps, request: pb.ApplyRequest) -> pb.PromotionCase:
    applicant = await deps.org.person(request.applicant_id, "applicant")
    candidate = await deps.org.person(request.candidate_id or applicant.id, "candidate")
    rules.ensure_may_apply(applicant.id, candidate.id, candidate.manager_id)
    current = rules.checked_grade(request.current_grade, "current_grade")
    target = rules.checked_grade(request.target_grade, "target_grade")
    if current == target:
        raise InvalidArgument("same_grade", "the target grade must differ from the current one")
    now = utcnow()
    row = PromotionCase(
        id=new_id(),
        candidate_id=candidate.id,
        applicant_id=applicant.id,
        manager_id=candidate.manager_id,
        current_grade=current,
        target_grade=target,
        status=PROMOTION_ELIGIBILITY,
        reasons=[],
        panel=[],
        panel_round=0,
        mean_score=0.0,
        publicity_end="",
        decided_by="",
        decision_comment="",
        created_at=now,
        updated_at=now,
    )
    async with deps.units() as uow:
        if await uow.repo.open_case_of(candidate.id) is not None:
            raise FailedPrecondition(
                "promotion_case_open", "the candidate already has an open promotion case"
            )
        uow.repo.add(row)
        msg = case_pb(row)
        await uow.emit(
            pb.PromotionApplied(
                meta=new_event_meta("feedback"),
                case_id=row.id,
                candidate_id=row.candidate_id,
                applicant_id=row.applicant_id,
                current_grade=current,
                target_grade=target,
            )
        )
        await uow.audit("promotion.applied", RESOURCE, row.id, None, msg)
    return msg


async def _overseer(deps: PromotionDeps, viewer_id: str) -> bool:
    return rules.HR_ROLE in (await deps.org.person(viewer_id, "viewer")).roles


async def get(deps: PromotionDeps, request: pb.GetCaseRequest) -> pb.PromotionCase:
    hr = await _overseer(deps, request.viewer_id)
    async with deps.reading() as repo:
        row = await _case(repo, request.case_id)
        if not hr and not rules.involved(
            request.viewer_id, row.candidate_id, row.applicant_id, row.manager_id, row.panel
        ):
            raise not_found()
        return case_pb(
            row,
            await repo.scores(row.id, row.panel_round),
            await repo.objections(row.id),
            await repo.steps(row.id),
            viewer_id=request.viewer_id,
            overseer=hr,
        )


async def list_(deps: PromotionDeps, request: pb.ListCasesRequest) -> pb.ListCasesResponse:
    if request.status and request.status not in PROMOTION_PHASES:
        raise InvalidArgument("invalid_status", f"status must be one of {PROMOTION_PHASES}")
    hr = await _overseer(deps, request.viewer_id)
    limit, offset = page_window(request.page_size, request.page_token)
    async with deps.reading() as repo:
        rows = [
            r
            for r in await repo.cases(request.status)
            if hr
            or rules.involved(
                request.viewer_id, r.candidate_id, r.applicant_id, r.manager_id, r.panel
            )
        ]
        window = rows[offset : offset + limit]
        cases = [
            case_pb(r, viewer_id=request.viewer_id, overseer=hr) if not hr else case_pb(r)
            for r in window
        ]
    return pb.ListCasesResponse(
        cases=cases, next_page_token=next_page_token(offset, limit, len(window))
    )


# --- the workflow's calls ---------------------------------------------------------------------
async def check_eligibility(
    deps: PromotionDeps, request: pb.CheckEligibilityRequest
) -> pb.EligibilityResult:
    async with deps.reading() as repo:
        row = await _case(repo, request.case_id)
        found = await repo.rules()
        ratings = await archive_repository.final_ratings(repo.session, row.candidate_id)
    hired = await deps.org.hire_date(row.candidate_id)
    try:
        hire_date: date | None = date.fromisoformat(hired) if hired else None
    except ValueError:
        hire_date = None
    today = datetime.now(ZoneInfo(deps.time_zone)).date()
    reasons = rules.eligibility_reasons(ratings, hire_date, today, rules_of(found))
    return pb.EligibilityResult(
        eligible=not reasons, reasons=reasons, rules_version=found.version if found else 0
    )


async def people(deps: PromotionDeps, request: pb.GetCasePeopleRequest) -> pb.CasePeople:
    async with deps.reading() as repo:
        row = await _case(repo, request.case_id)
    candidate = await deps.org.person(row.candidate_id, "candidate")
    hr = [e.id for e in await deps.org.active_employees() if rules.HR_ROLE in e.roles]
    return pb.CasePeople(
        manager_id=candidate.manager_id, reporting_line=list(candidate.managers), hr_ids=hr
    )


async def record(deps: PromotionDeps, request: pb.RecordStepRequest) -> pb.PromotionCase:
    """One step of the review; a sequence already recorded returns the case unchanged."""
    if request.step not in STEPS:
        raise InvalidArgument("invalid_step", f"step must be one of {STEPS}")
    if request.phase not in PROMOTION_PHASES:
        raise InvalidArgument("invalid_status", f"phase must be one of {PROMOTION_PHASES}")
    text = checked_text(request.text, "text", MAX_COMMENT, required=False, multiline=True)
    line: tuple[str, ...] = ()
    if request.step in (STEP_PANEL, STEP_SCORE):
        async with deps.reading() as repo:
            found = await _case(repo, request.case_id)
        line = (await deps.org.person(found.candidate_id, "candidate")).managers
    try:
        async with deps.units() as uow:
            row = await _case(uow.repo, request.case_id, lock=True)
            if await uow.repo.step(row.id, request.sequence) is not None:
                return await _full(uow.repo, row)
            before = case_pb(row)
            await _apply_step(uow, row, request, text, line)
            row.status = request.phase
            row.updated_at = utcnow()
            uow.repo.add(
                PromotionStepRow(
                    id=new_id(),
                    case_id=row.id,
                    sequence=request.sequence,
                    step=request.step,
                    actor_id=request.actor_id,
                    phase=request.phase,
                    detail=_detail(request),
                    created_at=row.updated_at,
                )
            )
            after = case_pb(row)
            if request.phase in PROMOTION_ENDED and before.status not in PROMOTION_ENDED:
                await uow.emit(
                    pb.PromotionDecided(
                        meta=new_event_meta("feedback"),
                        case_id=row.id,
                        candidate_id=row.candidate_id,
                        outcome=request.phase,
                    )
                )
            await uow.audit(
                f"promotion.{request.step}", RESOURCE, row.id, before, after, _summary(request)
            )
            await uow.session.flush()
            return await _full(uow.repo, row)
    except IntegrityError as exc:
        raise concurrent("promotion") from exc


def _detail(request: pb.RecordStepRequest) -> dict[str, object]:
    detail: dict[str, object] = {}
    if request.member_ids:
        detail["member_ids"] = list(request.member_ids)
    if request.score:
        detail["score"] = request.score
    if request.objection:
        detail["objection"] = request.objection
    if request.outcome:
        detail["outcome"] = request.outcome
    if request.reasons:
        detail["reasons"] = list(request.reasons)
    return detail


def _summary(request: pb.RecordStepRequest) -> str:
    """The audit entry's detail: what was decided, never an objection's text or author."""
    parts = [f"{k}={v}" for k, v in _detail(request).items() if k != "member_ids"]
    return " ".join([request.step, *parts])


async def _apply_step(
    uow: PromotionUow,
    row: PromotionCase,
    request: pb.RecordStepRequest,
    text: str,
    line: tuple[str, ...],
) -> None:
    step = request.step
    if request.reasons:
        row.reasons = list(request.reasons)
    if step == STEP_PANEL:
        members = list(dict.fromkeys(request.member_ids))
        if any(conflicted(m, row.candidate_id, row.manager_id, line) for m in members):
            raise permission_denied(
                "conflict_of_interest",
                "the candidate, their manager and their reporting line may not sit on the panel",
            )
        row.panel = members
        # A new panel in the same round keeps the scores of the members still on it.
        await uow.repo.drop_scores(row.id, row.panel_round, members)
        kept = await uow.repo.scores(row.id, row.panel_round)
        values = [s.score for s in kept]
        row.mean_score = round(sum(values) / len(values), 2) if values else 0.0
    elif step == STEP_SCORE:
        member = request.actor_id
        if conflicted(member, row.candidate_id, row.manager_id, line):
            raise permission_denied("conflict_of_interest", "a conflicted member may not score")
        if member not in row.panel:
            raise permission_denied("not_a_panel_member", "only the panel scores")
        if not PROMOTION_SCORE_MIN <= request.score <= PROMOTION_SCORE_MAX:
            raise InvalidArgument("score_out_of_range", "the score is out of range")
        existing = await uow.repo.scores(row.id, row.panel_round)
        if any(s.member_id == member for s in existing):
            raise FailedPrecondition("already_scored", "this member has scored already")
        uow.repo.add(
            PromotionScore(
                case_id=row.id,
                panel_round=row.panel_round,
                member_id=member,
                score=request.score,
                comment=text,
                created_at=utcnow(),
            )
        )
        values = [s.score for s in existing] + [request.score]
        row.mean_score = round(sum(values) / len(values), 2)
    elif step == STEP_PUBLICITY:
        row.publicity_end = text
    elif step == STEP_OBJECTION:
        if not text:
            raise InvalidArgument("reason_required", "an objection needs a reason")
        uow.repo.add(
            PromotionObjection(
                case_id=row.id,
                number=request.objection,
                author_id=request.actor_id,
                reason=text,
                status=OBJECTION_OPEN,
                outcome="",
                comment="",
                resolved_by="",
                created_at=utcnow(),
            )
        )
    elif step == STEP_RESOLVED:
        objection = await uow.repo.objection(row.id, request.objection)
        if objection is None:
            raise NotFound("objection_not_found", "objection not found")
        status, _, outcome = request.outcome.partition(":")
        objection.status, objection.outcome = status, outcome
        objection.comment, objection.resolved_by = text, request.actor_id
        if outcome == OBJECTION_BACK_TO_PANEL:
            row.panel_round += 1
            row.panel, row.mean_score, row.publicity_end = [], 0.0, ""
    elif step in (STEP_DECIDED, STEP_WITHDRAWN):
        if step == STEP_DECIDED:
            row.decided_by, row.decision_comment = request.actor_id, text


# --- HR's rules -------------------------------------------------------------------------------
async def get_rules(deps: PromotionDeps, request: pb.GetRulesRequest) -> pb.EligibilityRules:
    async with deps.reading() as repo:
        return rules_pb(await repo.rules())


async def put_rules(deps: PromotionDeps, request: pb.PutRulesRequest) -> pb.EligibilityRules:
    actor = await deps.org.person(request.actor_id, "actor")
    if rules.HR_ROLE not in actor.roles and "admin" not in actor.roles:
        raise permission_denied("hr_only", "only HR maintains the promotion rules")
    new = rules.checked_rules(request.min_rating, request.ratings_count, request.min_tenure_months)
    try:
        async with deps.units() as uow:
            current = await uow.repo.rules()
            before = rules_pb(current)
            row = PromotionRules(
                version=(current.version if current else 0) + 1,
                min_rating=new.min_rating,
                ratings_count=new.ratings_count,
                min_tenure_months=new.min_tenure_months,
                updated_by=actor.id,
                updated_at=utcnow(),
            )
            uow.repo.add(row)
            after = rules_pb(row)
            await uow.emit(
                pb.PromotionRulesChanged(meta=new_event_meta("feedback"), version=row.version)
            )
            await uow.audit(
                "promotion.rules_put", "promotion_rules", str(row.version), before, after
            )
        return after
    except IntegrityError as exc:
        raise concurrent("promotion_rules") from exc
