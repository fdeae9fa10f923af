"""Promotion rows → protobuf messages, as a viewer may see them: objection authors, every
score and the step log for HR (and the system) only; a panel member sees their own score."""

from __future__ import annotations

from collections.abc import Sequence

from services.feedback.domain.promotions import Rules
from services.feedback.promotion_models import (
    PromotionCase,
    PromotionObjection,
    PromotionRules,
    PromotionScore,
    PromotionStepRow,
)
from stride.feedback.v1 import promotions_pb2 as pb


def _iso(row_time: object) -> str:
    iso = getattr(row_time, "isoformat", None)
    return iso() if iso else ""


def case_pb(
    row: PromotionCase,
    scores: Sequence[PromotionScore] = (),
    objections: Sequence[PromotionObjection] = (),
    steps: Sequence[PromotionStepRow] = (),
    *,
    viewer_id: str = "",
    overseer: bool = True,
) -> pb.PromotionCase:
    shown_scores = [s for s in scores if overseer or s.member_id == viewer_id]
    return pb.PromotionCase(
        id=row.id,
        candidate_id=row.candidate_id,
        applicant_id=row.applicant_id,
        manager_id=row.manager_id,
        current_grade=row.current_grade,
        target_grade=row.target_grade,
        status=row.status,
        reasons=list(row.reasons),
        panel_ids=list(row.panel),
        scores=[
            pb.PanelScore(member_id=s.member_id, score=s.score, comment=s.comment)
            for s in shown_scores
        ],
        mean_score=row.mean_score if overseer else 0.0,
        publicity_end=row.publicity_end,
        objections=[
            pb.CaseObjection(
                number=o.number,
                author_id=o.author_id if overseer else "",
                reason=o.reason,
                status=o.status,
                outcome=o.outcome,
                comment=o.comment,
                raised_at=_iso(o.created_at),
            )
            for o in objections
        ],
        decided_by=row.decided_by,
        decision_comment=row.decision_comment,
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
        steps=[
            pb.CaseStep(
                sequence=s.sequence,
                step=s.step,
                actor_id=s.actor_id,
                phase=s.phase,
                at=_iso(s.created_at),
            )
            for s in (steps if overseer else ())
        ],
        panel_round=row.panel_round,
    )


def rules_of(row: PromotionRules | None) -> Rules:
    if row is None:
        return Rules()
    return Rules(row.min_rating, row.ratings_count, row.min_tenure_months)


def rules_pb(row: PromotionRules | None) -> pb.EligibilityRules:
    rules = rules_of(row)
    return pb.EligibilityRules(
        version=row.version if row else 0,
        min_rating=rules.min_rating,
        ratings_count=rules.ratings_count,
        min_tenure_months=rules.min_tenure_months,
        updated_by=row.updated_by if row else "",
        updated_at=_iso(row.updated_at) if row else "",
    )
