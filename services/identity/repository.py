"""Identity persistence (SQLAlchemy async)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import Department, Employee


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_department(self, department_id: str) -> Department | None:
        return await self.session.get(Department, department_id)

    async def department_name_taken(self, name: str, parent_id: str | None) -> bool:
        query = select(Department.id).where(Department.name == name)
        query = query.where(
            Department.parent_id.is_(None)
            if parent_id is None
            else Department.parent_id == parent_id
        )
        return (await self.session.scalar(query.limit(1))) is not None

    async def list_departments(self, limit: int, offset: int) -> list[Department]:
        query = select(Department).order_by(Department.created_at, Department.id)
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def get_employee(self, employee_id: str) -> Employee | None:
        return await self.session.get(Employee, employee_id)

    async def employee_number_taken(self, number: str) -> bool:
        query = select(Employee.id).where(Employee.employee_number == number).limit(1)
        return (await self.session.scalar(query)) is not None

    async def list_employees(
        self, limit: int, offset: int, department_id: str = "", manager_id: str = ""
    ) -> list[Employee]:
        query = select(Employee).order_by(Employee.created_at, Employee.id)
        if department_id:
            query = query.where(Employee.department_id == department_id)
        if manager_id:
            query = query.where(Employee.manager_id == manager_id)
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    def add(self, row: Department | Employee) -> None:
        self.session.add(row)
