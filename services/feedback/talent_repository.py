"""Talent persistence: high-potential suggestions, and the counts the formulas read from the
feedback tables (praise tagged as improvement received, goal challenges raised and
accepted). It extends :class:`FeedbackRepository`, so one unit of work reads both."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from services.feedback.models import Challenge, FeedbackItem
from services.feedback.repository import FeedbackRepository
from services.feedback.talent_models import TalentSuggestion
from workflows.vocabulary import PRAISE_TAG_IMPROVEMENT, VISIBILITY_PRAISE


class TalentRepository(FeedbackRepository):
    async def improvement_praise(
        self, people: Sequence[str], first_week: str, last_week: str
    ) -> dict[str, int]:
        """person → praise they received in the weeks tagged as improvement. The tags are a
        short JSON list, read here rather than queried (JSON containment differs between
        PostgreSQL and SQLite); praise is a few items per person per quarter."""
        found: dict[str, int] = {}
        if not people:
            return found
        rows = await self.session.execute(
            select(FeedbackItem.about_id, FeedbackItem.tags).where(
                FeedbackItem.visibility == VISIBILITY_PRAISE,
                FeedbackItem.about_id.in_(list(people)),
                FeedbackItem.week >= first_week,
                FeedbackItem.week <= last_week,
            )
        )
        for about_id, tags in rows.all():
            if PRAISE_TAG_IMPROVEMENT in (tags or []):
                found[about_id] = found.get(about_id, 0) + 1
        return found

    async def accepted_challenges(
        self, people: Sequence[str], first_week: str, last_week: str
    ) -> dict[str, int]:
        """person → goal challenges they raised in the weeks that the owner accepted."""
        if not people:
            return {}
        rows = await self.session.execute(
            select(Challenge.challenger_id, func.count())
            .where(
                Challenge.accepted.is_(True),
                Challenge.challenger_id.in_(list(people)),
                Challenge.week >= first_week,
                Challenge.week <= last_week,
            )
            .group_by(Challenge.challenger_id)
        )
        return {person: int(n) for person, n in rows.all()}

    async def suggestion(
        self, suggestion_id: str, *, lock: bool = False
    ) -> TalentSuggestion | None:
        stmt = select(TalentSuggestion).where(TalentSuggestion.id == suggestion_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def suggestions_of(
        self, cycle_id: str, employee_ids: Sequence[str]
    ) -> dict[str, TalentSuggestion]:
        if not employee_ids:
            return {}
        rows = await self.session.scalars(
            select(TalentSuggestion).where(
                TalentSuggestion.cycle_id == cycle_id,
                TalentSuggestion.employee_id.in_(list(employee_ids)),
            )
        )
        return {r.employee_id: r for r in rows.all()}

    async def suggestions(
        self, cycle_id: str, *, department_id: str, status: str, limit: int, offset: int
    ) -> Sequence[TalentSuggestion]:
        stmt = select(TalentSuggestion).where(TalentSuggestion.cycle_id == cycle_id)
        if department_id:
            stmt = stmt.where(TalentSuggestion.department_id == department_id)
        if status:
            stmt = stmt.where(TalentSuggestion.status == status)
        stmt = stmt.order_by(TalentSuggestion.created_at, TalentSuggestion.id)
        return (await self.session.scalars(stmt.limit(limit).offset(offset))).all()
