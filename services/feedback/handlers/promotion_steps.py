"""The steps the ``promotion/<case>`` workflow records on a case (RecordStep): each one applied
to the case's rows, numbered by the workflow (a retried step is recorded once), with its audit
entry, and ``promotion.decided`` when the case ends. The conflict of interest is checked again
here against identity's current reporting line when a panel is named or a member scores.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.common.text import checked_text
from services.feedback.domain.rounds import permission_denied
from services.feedback.handlers.promotions import (
    RESOURCE,
    PromotionDeps,
    PromotionUow,
    case_of,
    full_case,
)
from services.feedback.handlers.shared import concurrent
from services.feedback.promotion_messages import case_pb
from services.feedback.promotion_models import (
    PromotionCase,
    PromotionObjection,
    PromotionScore,
    PromotionStepRow,
)
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
    PROMOTION_ENDED,
    PROMOTION_PHASES,
    PROMOTION_SCORE_MAX,
    PROMOTION_SCORE_MIN,
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
            found = await case_of(repo, request.case_id)
        line = (await deps.org.person(found.candidate_id, "candidate")).managers
    try:
        async with deps.units() as uow:
            row = await case_of(uow.repo, request.case_id, lock=True)
            if await uow.repo.step(row.id, request.sequence) is not None:
                return await full_case(uow.repo, row)
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
            return await full_case(uow.repo, row)
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
