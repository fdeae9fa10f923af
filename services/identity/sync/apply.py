"""Applying planned org-sync operations inside one transaction (identity's own tables).

Every write emits the same events as the department and employee handlers
(DepartmentCreated / Updated, EmployeeCreated / Updated / Deactivated) and an audit entry,
through the apply handler's unit of work. Before each write the state it was planned
against is checked again; when the organisation changed in a way that makes a write invalid
(someone took the employee number, removed the manager, ...), the whole batch is refused
with ``org_changed_since_plan`` and nothing of it is written. The next sync plans from the
new state.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.common.errors import FailedPrecondition
from services.common.models import utcnow
from services.common.outbox import new_event_meta
from services.common.uow import UnitOfWork
from services.identity.domain import login_key
from services.identity.handlers.employees import employees_pb, record_employee_change
from services.identity.messages import department_pb, employee_pb
from services.identity.models import Department, Employee
from services.identity.repository import IdentityRepository
from services.identity.sync.data import (
    DEPARTMENT_CREATE,
    DEPARTMENT_UPDATE,
    EMPLOYEE_CREATE,
    EMPLOYEE_DEACTIVATE,
    EMPLOYEE_UPDATE,
    Operation,
)
from services.identity.sync.plan import EMPLOYEE_COLUMNS
from stride.identity.v1 import identity_pb2 as ipb

_DATE_COLUMNS = frozenset({"hire_date"})
_UPDATABLE = frozenset(EMPLOYEE_COLUMNS) - {"employee_number"}


class OrgChanged(FailedPrecondition):
    def __init__(self, position: str, what: str) -> None:
        super().__init__(
            "org_changed_since_plan",
            f"{position}: {what}; the organisation changed since the sync was planned, "
            "run the sync again",
        )


def _column_value(column: str, value: str | None) -> object:
    if value is not None and column in _DATE_COLUMNS:
        return date.fromisoformat(value)
    return value


class BatchApplier:
    """Applies the operations of one batch, in order, in the caller's unit of work."""

    def __init__(self, uow: UnitOfWork[Any], batch_no: int) -> None:
        self.uow = uow
        self.repo: IdentityRepository = uow.repo
        self.batch_no = batch_no

    async def apply(self, operations: list[Operation]) -> None:
        creates = [op.values.get("employee_number") for op in operations]
        wanted = [n for n in creates if n]
        found = await self.repo.by_numbers(wanted)
        self._taken_numbers = {login_key(e.employee_number) for e in found}
        for index, op in enumerate(operations):
            position = f"batch {self.batch_no}, operation {index + 1} ({op.kind})"
            if op.kind == DEPARTMENT_CREATE:
                await self._create_department(op, position)
            elif op.kind == DEPARTMENT_UPDATE:
                await self._update_department(op, position)
            elif op.kind == EMPLOYEE_CREATE:
                await self._create_employee(op, position)
            elif op.kind in (EMPLOYEE_UPDATE, EMPLOYEE_DEACTIVATE):
                await self._update_employee(op, position)
            else:  # pragma: no cover - Operation.from_json refuses unknown kinds
                raise OrgChanged(position, "unknown operation")

    # --- departments --------------------------------------------------------------------
    async def _create_department(self, op: Operation, position: str) -> None:
        v = op.values
        name = str(v["name"])
        parent_id = v.get("parent_id")
        if await self.repo.get_department(op.id) is not None:
            raise OrgChanged(position, "the department exists already")
        if parent_id is not None and await self.repo.get_department(parent_id) is None:
            raise OrgChanged(position, "the parent department is gone")
        if await self.repo.department_name_taken(name, parent_id):
            raise OrgChanged(position, "a department of that name exists there")
        external_id = v.get("external_id")
        if external_id and await self.repo.department_external_taken(external_id, op.id):
            raise OrgChanged(position, "another department has that source key")
        row = Department(
            id=op.id,
            name=name,
            parent_id=parent_id,
            head_id=None,
            stride_enabled=True,
            external_id=external_id,
            created_at=utcnow(),
        )
        self.repo.add(row)
        await self.repo.flush()
        msg = department_pb(row)
        await self.uow.emit(ipb.DepartmentCreated(meta=new_event_meta("identity"), department=msg))
        await self.uow.audit("department.create", "department", row.id, None, msg)

    async def _update_department(self, op: Operation, position: str) -> None:
        row = await self.repo.get_department(op.id)
        if row is None:
            raise OrgChanged(position, "the department is gone")
        before = department_pb(row)
        v = op.values
        changed: list[str] = []
        if "parent_id" in v and v["parent_id"] != row.parent_id:
            parent_id = v["parent_id"]
            if parent_id is not None:
                if await self.repo.get_department(parent_id) is None:
                    raise OrgChanged(position, "the new parent department is gone")
                if parent_id == row.id or row.id in await self.repo.department_ancestors(parent_id):
                    raise OrgChanged(position, "the move would put the department below itself")
            row.parent_id = parent_id
            changed.append("parent_id")
        if "name" in v and v["name"] != row.name:
            row.name = str(v["name"])
            changed.append("name")
        if changed and await self.repo.department_name_taken(
            row.name, row.parent_id, except_id=row.id
        ):
            raise OrgChanged(position, "a department of that name exists there")
        if "external_id" in v and v["external_id"] != row.external_id:
            external_id = v["external_id"]
            if external_id and await self.repo.department_external_taken(external_id, row.id):
                raise OrgChanged(position, "another department has that source key")
            row.external_id = external_id
            changed.append("external_id")
        if not changed:
            return
        await self.repo.flush()
        msg = department_pb(row)
        await self.uow.emit(
            ipb.DepartmentUpdated(
                meta=new_event_meta("identity"), department=msg, changed_fields=changed
            )
        )
        await self.uow.audit("department.update", "department", row.id, before, msg)

    # --- employees ----------------------------------------------------------------------
    async def _check_manager(self, employee_id: str, manager_id: str, position: str) -> None:
        manager = await self.repo.get_employee(manager_id)
        if manager is None or manager.status != "active":
            raise OrgChanged(position, "the manager is gone or left")
        chain = [m.id for m in await self.repo.manager_chain(manager_id)]
        if manager_id == employee_id or employee_id in chain:
            raise OrgChanged(position, "the manager would make a loop in the chain")

    async def _create_employee(self, op: Operation, position: str) -> None:
        v = op.values
        number = str(v["employee_number"])
        if login_key(number) in self._taken_numbers or await self.repo.get_employee(op.id):
            raise OrgChanged(position, "the employee number is in use already")
        email = v.get("email")
        if email and await self.repo.email_taken(email):
            raise OrgChanged(position, "another active person has that e-mail")
        department_id = str(v["department_id"])
        if await self.repo.get_department(department_id) is None:
            raise OrgChanged(position, "the department is gone")
        manager_id = v.get("manager_id")
        if manager_id is not None:
            manager = await self.repo.get_employee(manager_id)
            if manager is None or manager.status != "active":
                raise OrgChanged(position, "the manager is gone or left")
        external_id = v.get("external_id")
        if external_id and await self.repo.employee_external_taken(external_id, op.id):
            raise OrgChanged(position, "another person has that source id")
        row = Employee(
            id=op.id,
            employee_number=number,
            name=str(v["name"]),
            department_id=department_id,
            manager_id=manager_id,
            status=v.get("status") or "active",
            roles="",
            external_id=external_id,
            created_at=utcnow(),
        )
        for column in ("email", "mobile", "title", "grade", "hire_date"):
            setattr(row, column, _column_value(column, v.get(column)))
        self.repo.add(row)
        self._taken_numbers.add(login_key(number))
        await self.repo.flush()
        msg = employee_pb(row)
        await self.uow.emit(ipb.EmployeeCreated(meta=new_event_meta("identity"), employee=msg))
        await self.uow.audit("employee.create", "employee", row.id, None, msg)

    async def _update_employee(self, op: Operation, position: str) -> None:
        row = await self.repo.get_employee(op.id)
        if row is None:
            raise OrgChanged(position, "the person is gone")
        before = (await employees_pb(self.repo, [row]))[0]
        v = op.values
        if "department_id" in v and v["department_id"] != row.department_id:
            if (
                v["department_id"] is None
                or await self.repo.get_department(v["department_id"]) is None
            ):
                raise OrgChanged(position, "the department is gone")
        if "manager_id" in v and v["manager_id"] is not None and v["manager_id"] != row.manager_id:
            await self._check_manager(row.id, v["manager_id"], position)
        if v.get("external_id") and v["external_id"] != row.external_id:
            if await self.repo.employee_external_taken(str(v["external_id"]), row.id):
                raise OrgChanged(position, "another person has that source id")
        email = v["email"] if "email" in v else row.email
        active = (v.get("status") or row.status) == "active"
        if email and active and ("email" in v or "status" in v):
            if await self.repo.email_taken(str(email), except_id=row.id):
                raise OrgChanged(position, "another active person has that e-mail")
        changed: list[str] = []
        for column, value in v.items():
            if column not in _UPDATABLE:
                raise OrgChanged(position, f"column {column!r} cannot be synchronised")
            new = _column_value(column, value)
            if getattr(row, column) != new:
                setattr(row, column, new)
                changed.append(column)
        if not changed:
            return
        await self.repo.flush()
        # Whether someone is a manager depends on their reports' rows, not on this one.
        after = employee_pb(row, is_manager=before.is_manager)
        await record_employee_change(self.uow, before, after, changed)
