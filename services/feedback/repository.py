"""Feedback persistence (SQLAlchemy async): continuous feedback, badges, upward feedback,
challenges and settings. Reads filter by what the handler asks; who may read what is
decided by the handlers with the pure rules of ``services.feedback.domain``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select, true

from services.common.db import SessionRepository
from services.feedback.models import (
    Badge,
    Challenge,
    ChallengeMessage,
    FeedbackItem,
    FeedbackRequest,
    Settings,
    UpwardFeedback,
)
from workflows.vocabulary import VISIBILITY_PRAISE

SETTINGS_ID = "org"


class FeedbackRepository(SessionRepository):
    # -- feedback -------------------------------------------------------------------------------
    async def feedback(self, item_id: str) -> FeedbackItem | None:
        return await self.session.get(FeedbackItem, item_id)

    async def feedback_where(
        self,
        where: ColumnElement[bool],
        *,
        subject_kind: str = "",
        subject_id: str = "",
        limit: int,
        offset: int,
    ) -> Sequence[FeedbackItem]:
        stmt = select(FeedbackItem).where(where)
        if subject_kind:
            stmt = stmt.where(FeedbackItem.subject_kind == subject_kind)
        if subject_id:
            stmt = stmt.where(FeedbackItem.subject_id == subject_id)
        stmt = stmt.order_by(FeedbackItem.created_at.desc(), FeedbackItem.id)
        return (await self.session.scalars(stmt.limit(limit).offset(offset))).all()

    async def praise(
        self,
        *,
        departments: Sequence[str] | None,
        viewer_id: str,
        about_id: str,
        limit: int,
        offset: int,
    ) -> Sequence[FeedbackItem]:
        """Praise about people of ``departments`` (None: every department) or given by or to
        the viewer, newest first."""
        visible: ColumnElement[bool] = (
            FeedbackItem.about_department_id.in_(departments) if departments is not None else true()
        )
        mine = or_(FeedbackItem.author_id == viewer_id, FeedbackItem.about_id == viewer_id)
        stmt = select(FeedbackItem).where(
            FeedbackItem.visibility == VISIBILITY_PRAISE, or_(visible, mine)
        )
        if about_id:
            stmt = stmt.where(FeedbackItem.about_id == about_id)
        stmt = stmt.order_by(FeedbackItem.created_at.desc(), FeedbackItem.id)
        return (await self.session.scalars(stmt.limit(limit).offset(offset))).all()

    # -- requests -------------------------------------------------------------------------------
    async def request(self, request_id: str, *, lock: bool = False) -> FeedbackRequest | None:
        stmt = select(FeedbackRequest).where(FeedbackRequest.id == request_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def requests(
        self,
        *,
        responder_id: str = "",
        requester_id: str = "",
        status: str,
        limit: int,
        offset: int,
    ) -> Sequence[FeedbackRequest]:
        stmt = select(FeedbackRequest)
        if responder_id:
            stmt = stmt.where(FeedbackRequest.responder_id == responder_id)
        if requester_id:
            stmt = stmt.where(FeedbackRequest.requester_id == requester_id)
        if status:
            stmt = stmt.where(FeedbackRequest.status == status)
        stmt = stmt.order_by(FeedbackRequest.created_at.desc(), FeedbackRequest.id)
        return (await self.session.scalars(stmt.limit(limit).offset(offset))).all()

    # -- badges ---------------------------------------------------------------------------------
    async def badge(self, badge_id: str) -> Badge | None:
        return await self.session.get(Badge, badge_id)

    async def badge_by_code(self, code: str) -> Badge | None:
        return (
            await self.session.execute(select(Badge).where(Badge.code == code))
        ).scalar_one_or_none()

    async def badges(self, *, include_retired: bool) -> Sequence[Badge]:
        stmt = select(Badge)
        if not include_retired:
            stmt = stmt.where(Badge.active.is_(True))
        return (await self.session.scalars(stmt.order_by(Badge.code))).all()

    # -- upward ---------------------------------------------------------------------------------
    async def upward(self, manager_id: str, period: str) -> Sequence[UpwardFeedback]:
        stmt = (
            select(UpwardFeedback)
            .where(UpwardFeedback.manager_id == manager_id, UpwardFeedback.period == period)
            .order_by(UpwardFeedback.created_at, UpwardFeedback.id)
        )
        return (await self.session.scalars(stmt)).all()

    # -- challenges -----------------------------------------------------------------------------
    async def challenge(self, challenge_id: str, *, lock: bool = False) -> Challenge | None:
        stmt = select(Challenge).where(Challenge.id == challenge_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def challenges(
        self,
        where: ColumnElement[bool],
        *,
        objective_id: str,
        status: str,
        limit: int,
        offset: int,
    ) -> Sequence[Challenge]:
        stmt = select(Challenge).where(where)
        if objective_id:
            stmt = stmt.where(Challenge.objective_id == objective_id)
        if status:
            stmt = stmt.where(Challenge.status == status)
        stmt = stmt.order_by(Challenge.created_at.desc(), Challenge.id)
        return (await self.session.scalars(stmt.limit(limit).offset(offset))).all()

    async def messages(self, challenge_ids: Sequence[str]) -> Sequence[ChallengeMessage]:
        if not challenge_ids:
            return []
        stmt = (
            select(ChallengeMessage)
            .where(ChallengeMessage.challenge_id.in_(challenge_ids))
            .order_by(ChallengeMessage.challenge_id, ChallengeMessage.seq)
        )
        return (await self.session.scalars(stmt)).all()

    # -- frequency ------------------------------------------------------------------------------
    async def counts(
        self, weeks: Sequence[str], departments: Sequence[str]
    ) -> dict[tuple[str, str, str], int]:
        """(department, week, what) → items given, for feedback, praise, upward, challenges."""
        found: dict[tuple[str, str, str], int] = {}
        parts = (
            (FeedbackItem, FeedbackItem.author_department_id, FeedbackItem.visibility),
            (UpwardFeedback, UpwardFeedback.author_department_id, None),
            (Challenge, Challenge.challenger_department_id, None),
        )
        for model, department, split in parts:
            week = model.week  # type: ignore[attr-defined]
            columns = [department, week] + ([split] if split is not None else [])
            stmt = select(*columns, func.count()).where(week.in_(weeks))
            if departments:
                stmt = stmt.where(department.in_(departments))
            stmt = stmt.group_by(*columns)
            for row in (await self.session.execute(stmt)).all():
                what = row[2] if split is not None else model.__tablename__
                found[(row[0], row[1], str(what))] = int(row[-1])
        return found

    # -- settings -------------------------------------------------------------------------------
    async def settings(self, *, lock: bool = False) -> Settings | None:
        stmt = select(Settings).where(Settings.id == SETTINGS_ID)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()
