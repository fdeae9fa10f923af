"""360 round persistence (SQLAlchemy async). Reads return rows; who may see what of them is
decided by the handlers with ``services.feedback.domain.rounds`` and ``.anonymity``.

It extends :class:`FeedbackRepository`, so a round's unit of work also reads the
organisation's settings (the anonymity threshold in force at close).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update

from services.feedback.repository import FeedbackRepository
from services.feedback.round_models import (
    Round,
    RoundAnswer,
    RoundRater,
    RoundResult,
    RoundTemplate,
)
from workflows.vocabulary import RATER_INVITED, ROUND_COLLECTING


class RoundRepository(FeedbackRepository):
    # -- templates --------------------------------------------------------------------------------
    async def template(self, template_id: str, *, lock: bool = False) -> RoundTemplate | None:
        stmt = select(RoundTemplate).where(RoundTemplate.id == template_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def templates(
        self, limit: int, offset: int, *, include_archived: bool
    ) -> Sequence[RoundTemplate]:
        stmt = select(RoundTemplate).order_by(RoundTemplate.created_at, RoundTemplate.id)
        if not include_archived:
            stmt = stmt.where(RoundTemplate.archived.is_(False))
        return (await self.session.execute(stmt.limit(limit).offset(offset))).scalars().all()

    # -- rounds -----------------------------------------------------------------------------------
    async def round(self, round_id: str, *, lock: bool = False) -> Round | None:
        stmt = select(Round).where(Round.id == round_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def subjects_with_rounds(self, cycle_id: str) -> set[str]:
        stmt = select(Round.subject_id).where(Round.cycle_id == cycle_id)
        return set((await self.session.execute(stmt)).scalars().all())

    async def rounds_of_rater(self, employee_id: str, *, pending_only: bool) -> Sequence[Round]:
        stmt = (
            select(Round)
            .join(RoundRater, RoundRater.round_id == Round.id)
            .where(RoundRater.employee_id == employee_id)
            .order_by(Round.deadline, Round.id)
        )
        if pending_only:
            stmt = stmt.where(RoundRater.status == RATER_INVITED, Round.phase == ROUND_COLLECTING)
        return (await self.session.execute(stmt)).scalars().all()

    # -- raters -----------------------------------------------------------------------------------
    async def raters(self, round_id: str) -> list[RoundRater]:
        stmt = (
            select(RoundRater)
            .where(RoundRater.round_id == round_id)
            .order_by(RoundRater.relation, RoundRater.employee_id)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def rater(self, round_id: str, employee_id: str) -> RoundRater | None:
        stmt = select(RoundRater).where(
            RoundRater.round_id == round_id, RoundRater.employee_id == employee_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def delete_raters(self, round_id: str, employee_ids: Sequence[str]) -> None:
        if employee_ids:
            await self.session.execute(
                delete(RoundRater).where(
                    RoundRater.round_id == round_id, RoundRater.employee_id.in_(employee_ids)
                )
            )

    # -- answers ----------------------------------------------------------------------------------
    async def answers(self, round_id: str) -> Sequence[RoundAnswer]:
        stmt = select(RoundAnswer).where(RoundAnswer.round_id == round_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def delete_answers(self, round_id: str, rater_id: str) -> None:
        await self.session.execute(
            delete(RoundAnswer).where(
                RoundAnswer.round_id == round_id, RoundAnswer.rater_id == rater_id
            )
        )

    async def forget_raters(self, round_id: str, relations: Sequence[str]) -> None:
        """Unlink the answers of these relations from their raters (at close)."""
        await self.session.execute(
            update(RoundAnswer)
            .where(RoundAnswer.round_id == round_id, RoundAnswer.relation.in_(relations))
            .values(rater_id=None)
        )

    # -- results ----------------------------------------------------------------------------------
    async def result(self, round_id: str) -> RoundResult | None:
        stmt = select(RoundResult).where(RoundResult.round_id == round_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()
