"""Promotion review persistence (SQLAlchemy async). Who may read what is decided by the
handlers (services/feedback/handlers/promotions.py) with services/feedback/domain/promotions.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from services.feedback.promotion_models import (
    PromotionCase,
    PromotionObjection,
    PromotionRules,
    PromotionScore,
    PromotionStepRow,
)
from services.feedback.repository import FeedbackRepository
from workflows.vocabulary import PROMOTION_ENDED


class PromotionRepository(FeedbackRepository):
    async def case(self, case_id: str, *, lock: bool = False) -> PromotionCase | None:
        stmt = select(PromotionCase).where(PromotionCase.id == case_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_case_of(self, candidate_id: str) -> PromotionCase | None:
        stmt = select(PromotionCase).where(
            PromotionCase.candidate_id == candidate_id,
            PromotionCase.status.not_in(PROMOTION_ENDED),
        )
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def cases(self, status: str = "") -> Sequence[PromotionCase]:
        """Every case (or those with ``status``), newest first."""
        stmt = select(PromotionCase).order_by(
            PromotionCase.created_at.desc(), PromotionCase.id.desc()
        )
        if status:
            stmt = stmt.where(PromotionCase.status == status)
        return (await self.session.execute(stmt)).scalars().all()

    async def scores(self, case_id: str, panel_round: int) -> Sequence[PromotionScore]:
        stmt = (
            select(PromotionScore)
            .where(PromotionScore.case_id == case_id, PromotionScore.panel_round == panel_round)
            .order_by(PromotionScore.created_at, PromotionScore.member_id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def drop_scores(self, case_id: str, panel_round: int, keep: list[str]) -> None:
        """The round's scores of members no longer on the panel."""
        await self.session.execute(
            delete(PromotionScore).where(
                PromotionScore.case_id == case_id,
                PromotionScore.panel_round == panel_round,
                PromotionScore.member_id.not_in(keep),
            )
        )

    async def objections(self, case_id: str) -> Sequence[PromotionObjection]:
        stmt = (
            select(PromotionObjection)
            .where(PromotionObjection.case_id == case_id)
            .order_by(PromotionObjection.number)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def objection(self, case_id: str, number: int) -> PromotionObjection | None:
        stmt = select(PromotionObjection).where(
            PromotionObjection.case_id == case_id, PromotionObjection.number == number
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def steps(self, case_id: str) -> Sequence[PromotionStepRow]:
        stmt = (
            select(PromotionStepRow)
            .where(PromotionStepRow.case_id == case_id)
            .order_by(PromotionStepRow.sequence)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def step(self, case_id: str, sequence: int) -> PromotionStepRow | None:
        stmt = select(PromotionStepRow).where(
            PromotionStepRow.case_id == case_id, PromotionStepRow.sequence == sequence
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def rules(self) -> PromotionRules | None:
        """The rules in force (the newest version; None: the defaults)."""
        stmt = select(PromotionRules).order_by(PromotionRules.version.desc()).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()
