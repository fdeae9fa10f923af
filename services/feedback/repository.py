"""Feedback persistence (SQLAlchemy async): continuous feedback, badges, upward feedback,
challenges and settings. Reads filter what they return; who may read it is decided by the
handlers with the pure rules of ``services.feedback.domain``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.feedback.models import Settings

SETTINGS_ID = "org"


class FeedbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # -- settings -------------------------------------------------------------------------------
    async def settings(self, *, lock: bool = False) -> Settings | None:
        stmt = select(Settings).where(Settings.id == SETTINGS_ID)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()
