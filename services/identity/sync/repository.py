"""Org-sync persistence: the org as the planner sees it, planned runs and their batches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import defer

from services.identity.models import Department, Employee
from services.identity.repository import IdentityRepository
from services.identity.sync.data import CurrentOrg, OrgDepartment, OrgEmployee
from services.identity.sync.tables import (
    RUN_SUPERSEDED,
    UNFINISHED,
    OrgSyncBatch,
    OrgSyncRun,
    OrgSyncUpload,
)


class OrgSyncRepository(IdentityRepository):
    async def current_org(self) -> CurrentOrg:
        """Every department and employee, as the planner sees them."""
        departments = (
            await self.session.execute(
                select(Department.id, Department.name, Department.parent_id, Department.external_id)
            )
        ).all()
        employees = (
            await self.session.execute(
                select(
                    Employee.id,
                    Employee.employee_number,
                    Employee.name,
                    Employee.department_id,
                    Employee.manager_id,
                    Employee.status,
                    Employee.email,
                    Employee.mobile,
                    Employee.title,
                    Employee.grade,
                    Employee.hire_date,
                    Employee.external_id,
                    Employee.roles,
                )
            )
        ).all()
        return CurrentOrg(
            departments=tuple(
                OrgDepartment(d.id, d.name, d.parent_id, d.external_id) for d in departments
            ),
            employees=tuple(
                OrgEmployee(
                    id=e.id,
                    employee_number=e.employee_number,
                    name=e.name,
                    department_id=e.department_id,
                    manager_id=e.manager_id,
                    active=e.status == "active",
                    email=e.email,
                    mobile=e.mobile,
                    title=e.title,
                    grade=e.grade,
                    hire_date=e.hire_date.isoformat() if e.hire_date else None,
                    external_id=e.external_id,
                    roles=tuple(e.roles.split()),
                )
                for e in employees
            ),
        )

    async def run(
        self, run_id: str, *, with_rows: bool = True, fresh: bool = False
    ) -> OrgSyncRun | None:
        """A run; without its report rows (one JSON column, ~1 MB for a 10k import) when
        they are not needed; ``fresh`` reloads it from the database."""
        options = [] if with_rows else [defer(OrgSyncRun.rows)]
        return await self.session.get(OrgSyncRun, run_id, populate_existing=fresh, options=options)

    async def runs(self, limit: int) -> list[OrgSyncRun]:
        """The latest runs first, without their report rows."""
        query = (
            select(OrgSyncRun)
            .options(defer(OrgSyncRun.rows))
            .order_by(OrgSyncRun.created_at.desc(), OrgSyncRun.id)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def supersede_unfinished(self, now: datetime) -> None:
        """Stop every run not applied to the end (they were planned against an older org)."""
        await self.session.execute(
            update(OrgSyncRun)
            .where(OrgSyncRun.status.in_(UNFINISHED))
            .values(status=RUN_SUPERSEDED, finished_at=now)
        )

    async def claim_batch(self, run_id: str, batch_no: int, now: datetime) -> bool:
        """Mark a batch applied; only one transaction ever succeeds (a concurrent one waits
        for the row lock, then finds applied_at set and matches nothing)."""
        claimed = await self.session.execute(
            update(OrgSyncBatch)
            .where(
                OrgSyncBatch.run_id == run_id,
                OrgSyncBatch.batch_no == batch_no,
                OrgSyncBatch.applied_at.is_(None),
            )
            .values(applied_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(claimed, "rowcount", 0))

    async def batch(self, run_id: str, batch_no: int) -> OrgSyncBatch | None:
        return await self.session.get(OrgSyncBatch, (run_id, batch_no), populate_existing=True)

    async def upload(self, upload_id: str, *, with_content: bool = True) -> OrgSyncUpload | None:
        """An uploaded file; without its content (up to 10 MiB) when only its being there
        matters."""
        options = [] if with_content else [defer(OrgSyncUpload.content)]
        return await self.session.get(OrgSyncUpload, upload_id, options=options)
