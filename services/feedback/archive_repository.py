"""Performance archive and calibration persistence (SQLAlchemy async).

Module functions are the read API sibling handlers rely on (promotion eligibility, talent
tags): :func:`final_ratings` and :func:`history` on any session. :class:`ArchiveRepository`
is the repository of the archive's own units of work. Who may read what is decided by the
archive handlers (services/feedback/handlers/archive.py), not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.feedback.archive_models import ArchiveRecord, CalibrationChange, CalibrationSession
from services.feedback.repository import FeedbackRepository
from services.feedback.round_models import Round, RoundResult


async def final_ratings(session: AsyncSession, employee_id: str) -> list[tuple[date, str]]:
    """(cycle_end, final_rating) of the employee's calibrated cycles, newest first."""
    stmt = (
        select(ArchiveRecord.cycle_end, ArchiveRecord.final_rating)
        .where(ArchiveRecord.employee_id == employee_id, ArchiveRecord.final_rating != "")
        .order_by(ArchiveRecord.cycle_end.desc(), ArchiveRecord.cycle_id.desc())
    )
    return [(end, rating) for end, rating in (await session.execute(stmt)).all()]


async def history(session: AsyncSession, employee_id: str) -> list[ArchiveRecord]:
    """The employee's archive records, oldest cycle first."""
    stmt = (
        select(ArchiveRecord)
        .where(ArchiveRecord.employee_id == employee_id)
        .order_by(ArchiveRecord.cycle_end, ArchiveRecord.cycle_id)
    )
    return list((await session.execute(stmt)).scalars().all())


def filtered(
    cycle_id: str = "", department_id: str = "", rating: str = ""
) -> Select[ArchiveRecord]:
    """Archive records by cycle, department and final rating ("" = any), in a stable order."""
    stmt = select(ArchiveRecord)
    if cycle_id:
        stmt = stmt.where(ArchiveRecord.cycle_id == cycle_id)
    if department_id:
        stmt = stmt.where(ArchiveRecord.department_id == department_id)
    if rating:
        stmt = stmt.where(ArchiveRecord.final_rating == rating)
    return stmt.order_by(
        ArchiveRecord.cycle_end,
        ArchiveRecord.cycle_id,
        ArchiveRecord.department_id,
        ArchiveRecord.employee_id,
    )


class ArchiveRepository(FeedbackRepository):
    # -- records ----------------------------------------------------------------------------------
    async def record(
        self, employee_id: str, cycle_id: str, *, lock: bool = False
    ) -> ArchiveRecord | None:
        stmt = select(ArchiveRecord).where(
            ArchiveRecord.employee_id == employee_id, ArchiveRecord.cycle_id == cycle_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def records_of_cycle(self, cycle_id: str) -> dict[str, ArchiveRecord]:
        stmt = select(ArchiveRecord).where(ArchiveRecord.cycle_id == cycle_id)
        return {r.employee_id: r for r in (await self.session.execute(stmt)).scalars().all()}

    async def history(self, employee_id: str) -> list[ArchiveRecord]:
        return await history(self.session, employee_id)

    async def records(
        self, cycle_id: str, department_id: str, rating: str, limit: int, offset: int
    ) -> Sequence[ArchiveRecord]:
        stmt = filtered(cycle_id, department_id, rating).limit(limit).offset(offset)
        return (await self.session.execute(stmt)).scalars().all()

    # -- 360 results of a cycle ----------------------------------------------------------------
    async def released_360(self, cycle_id: str) -> dict[str, dict[str, object]]:
        """subject_id → the released aggregates of the subject's closed round in the cycle."""
        stmt = (
            select(Round.subject_id, RoundResult.data)
            .join(RoundResult, RoundResult.round_id == Round.id)
            .where(Round.cycle_id == cycle_id)
        )
        return {subject: dict(data) for subject, data in (await self.session.execute(stmt)).all()}

    # -- calibration ------------------------------------------------------------------------------
    async def session_of(
        self, department_id: str, cycle_id: str, *, lock: bool = False
    ) -> CalibrationSession | None:
        stmt = select(CalibrationSession).where(
            CalibrationSession.department_id == department_id,
            CalibrationSession.cycle_id == cycle_id,
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def calibration(
        self, session_id: str, *, lock: bool = False
    ) -> CalibrationSession | None:
        stmt = select(CalibrationSession).where(CalibrationSession.id == session_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def calibrations(self, cycle_id: str) -> Sequence[CalibrationSession]:
        stmt = select(CalibrationSession).order_by(
            CalibrationSession.cycle_id, CalibrationSession.department_id
        )
        if cycle_id:
            stmt = stmt.where(CalibrationSession.cycle_id == cycle_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def changes(self, session_id: str) -> Sequence[CalibrationChange]:
        stmt = (
            select(CalibrationChange)
            .where(CalibrationChange.session_id == session_id)
            .order_by(CalibrationChange.created_at, CalibrationChange.id)
        )
        return (await self.session.execute(stmt)).scalars().all()
