"""Goals persistence (SQLAlchemy async)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.models import CheckIn, Cycle, KeyResult, Objective


class GoalsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Cycle | Objective | KeyResult | CheckIn) -> None:
        self.session.add(row)

    async def cycle(self, cycle_id: str, *, lock: bool = False) -> Cycle | None:
        return await self.session.get(Cycle, cycle_id, with_for_update=lock or None)

    async def cycles(self, limit: int, offset: int) -> list[Cycle]:
        query = select(Cycle).order_by(Cycle.start_date.desc(), Cycle.created_at, Cycle.id)
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def objective(self, objective_id: str) -> Objective | None:
        return await self.session.get(Objective, objective_id)

    async def objectives(
        self,
        limit: int,
        offset: int,
        cycle_id: str = "",
        owner_id: str = "",
        visible_owner_ids: Sequence[str] = (),
        visible_department_ids: Sequence[str] = (),
    ) -> list[Objective]:
        query = select(Objective).order_by(Objective.created_at, Objective.id)
        if cycle_id:
            query = query.where(Objective.cycle_id == cycle_id)
        if owner_id:
            query = query.where(Objective.owner_id == owner_id)
        if visible_owner_ids or visible_department_ids:
            query = query.where(
                or_(
                    Objective.owner_id.in_(list(visible_owner_ids)),
                    Objective.department_id.in_(list(visible_department_ids)),
                )
            )
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def key_result(self, kr_id: str, *, lock: bool = False) -> KeyResult | None:
        return await self.session.get(KeyResult, kr_id, with_for_update=lock or None)

    async def key_results(self, limit: int, offset: int, objective_id: str = "") -> list[KeyResult]:
        query = select(KeyResult).order_by(KeyResult.created_at, KeyResult.id)
        if objective_id:
            query = query.where(KeyResult.objective_id == objective_id)
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def check_ins(
        self, kr_id: str, limit: int | None = None, offset: int = 0
    ) -> list[CheckIn]:
        query = select(CheckIn).where(CheckIn.key_result_id == kr_id).order_by(CheckIn.week)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        return list((await self.session.scalars(query)).all())
