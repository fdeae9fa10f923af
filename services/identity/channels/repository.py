"""Persistence of department robots, calendar days and the notification policy."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete, select

from services.identity.channels.models import (
    CalendarDay,
    DepartmentRobot,
    NotificationPolicyRow,
    TrainingCourseRow,
)
from services.identity.repository import IdentityRepository

POLICY_ID = 1


class ChannelsRepository(IdentityRepository):
    async def robot(self, department_id: str, kind: str) -> DepartmentRobot | None:
        return await self.session.get(DepartmentRobot, (department_id, kind))

    async def robots(self, department_ids: Iterable[str]) -> list[DepartmentRobot]:
        ids = list(dict.fromkeys(department_ids))
        if not ids:
            return []
        query = (
            select(DepartmentRobot)
            .where(DepartmentRobot.department_id.in_(ids))
            .order_by(DepartmentRobot.department_id, DepartmentRobot.kind)
        )
        return list((await self.session.scalars(query)).all())

    async def delete_robot(self, row: DepartmentRobot) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def calendar_days(self, first: date, last: date) -> list[CalendarDay]:
        query = (
            select(CalendarDay)
            .where(CalendarDay.day >= first, CalendarDay.day <= last)
            .order_by(CalendarDay.day)
        )
        return list((await self.session.scalars(query)).all())

    async def year_days(self, year: int) -> list[CalendarDay]:
        query = select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)
        return list((await self.session.scalars(query)).all())

    async def replace_year(self, year: int, days: list[CalendarDay]) -> None:
        await self.session.execute(delete(CalendarDay).where(CalendarDay.year == year))
        self.session.add_all(days)
        await self.session.flush()

    async def policy(self) -> NotificationPolicyRow | None:
        return await self.session.get(NotificationPolicyRow, POLICY_ID)

    async def courses(self) -> list[TrainingCourseRow]:
        query = select(TrainingCourseRow).order_by(TrainingCourseRow.position)
        return list((await self.session.scalars(query)).all())

    async def replace_courses(self, rows: list[TrainingCourseRow]) -> None:
        await self.session.execute(delete(TrainingCourseRow))
        self.session.add_all(rows)
        await self.session.flush()
