"""Promotion reviews: applying, reading cases, HR's eligibility rules, and the steps the
``promotion/<case>`` workflow records (each with its audit entry).

The steps the workflow records are in :mod:`services.feedback.handlers.promotion_steps`.

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
    PromotionRules,
)
from services.feedback.promotion_repository import PromotionRepository
from stride.feedback.v1 import promotions_pb2 as pb
from workflows.vocabulary import (
    PROMOTION_ELIGIBILITY,
    PROMOTION_PHASES,
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


async def case_of(repo: PromotionRepository, case_id: str, *, lock: bool = False) -> PromotionCase:
    row = await repo.case(case_id, lock=lock) if case_id else None
    if row is None:
        raise not_found()
    return row


async def full_case(repo: PromotionRepository, row: PromotionCase) -> pb.PromotionCase:
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
        row = await case_of(repo, request.case_id)
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
        row = await case_of(repo, request.case_id)
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
        row = await case_of(repo, request.case_id)
    candidate = await deps.org.person(row.candidate_id, "candidate")
    hr = [e.id for e in await deps.org.active_employees() if rules.HR_ROLE in e.roles]
    return pb.CasePeople(
        manager_id=candidate.manager_id, reporting_line=list(candidate.managers), hr_ids=hr
    )


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
