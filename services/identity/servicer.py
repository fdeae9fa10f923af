"""gRPC handlers of the identity service: translate, call the domain, translate back."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit
from services.common.db import transaction
from services.common.errors import AlreadyExists, InvalidArgument, NotFound
from services.common.models import new_id, rfc3339, utcnow
from services.common.outbox import add_event, new_event_meta
from services.common.paging import next_page_token, page_window
from services.common.runtime import ServiceContext
from services.identity import domain
from services.identity.models import OUTBOX, Department, Employee
from services.identity.repository import IdentityRepository
from stride.common.v1 import common_pb2
from stride.identity.v1 import identity_pb2 as pb
from stride.identity.v1 import identity_pb2_grpc

SUBJECT_DEPARTMENT_CREATED = "stride.identity.v1.department.created"
SUBJECT_DEPARTMENT_UPDATED = "stride.identity.v1.department.updated"
SUBJECT_EMPLOYEE_CREATED = "stride.identity.v1.employee.created"
SUBJECT_EMPLOYEE_UPDATED = "stride.identity.v1.employee.updated"
SUBJECT_EMPLOYEE_DEACTIVATED = "stride.identity.v1.employee.deactivated"
_STATUS = {"active": pb.EMPLOYEE_STATUS_ACTIVE, "left": pb.EMPLOYEE_STATUS_LEFT}
_STATUS_NAME = {v: k for k, v in _STATUS.items()}


def department_pb(row: Department) -> pb.Department:
    return pb.Department(
        id=row.id,
        name=row.name,
        parent_id=row.parent_id or "",
        created_at=rfc3339(row.created_at),
        head_id=row.head_id or "",
        stride_enabled=row.stride_enabled,
        external_id=row.external_id or "",
    )


def employee_pb(row: Employee, *, is_manager: bool = False) -> pb.Employee:
    return pb.Employee(
        id=row.id,
        employee_number=row.employee_number,
        name=row.name,
        email=row.email or "",
        department_id=row.department_id,
        manager_id=row.manager_id or "",
        status=_STATUS.get(row.status, pb.EMPLOYEE_STATUS_UNSPECIFIED),
        created_at=rfc3339(row.created_at),
        mobile=row.mobile or "",
        title=row.title or "",
        grade=row.grade or "",
        hire_date=row.hire_date.isoformat() if row.hire_date else "",
        roles=row.roles.split(),
        is_manager=is_manager,
        external_id=row.external_id or "",
    )


async def employees_pb(repo: IdentityRepository, rows: Sequence[Employee]) -> list[pb.Employee]:
    managers = await repo.managers_among(r.id for r in rows)
    return [employee_pb(r, is_manager=r.id in managers) for r in rows]


def _page(page: common_pb2.PageRequest) -> tuple[int, int]:
    return page_window(page.page_size, page.page_token)


def _next(offset: int, limit: int, returned: int) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, returned))


async def _emit(session: AsyncSession, subject: str, message: Message) -> None:
    await add_event(session, OUTBOX, subject, message)


_audit = audit.Recorder("identity", OUTBOX)


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # --- departments --------------------------------------------------------------------
    async def _check_head(self, repo: IdentityRepository, head_id: str | None) -> None:
        if head_id is None:
            return
        head = await repo.get_employee(head_id)
        if head is None or head.status != "active":
            raise InvalidArgument("unknown_head", "department head not found among active staff")

    async def CreateDepartment(
        self, request: pb.CreateDepartmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Department:
        name = domain.clean_name(request.name)
        parent_id = request.parent_id.strip() or None
        head_id = request.head_id.strip() or None
        taken = AlreadyExists(
            "department_name_taken", f"a department named {name!r} already exists here"
        )
        try:
            async with transaction(self.ctx.sessions) as session:
                repo = IdentityRepository(session)
                if parent_id and await repo.get_department(parent_id) is None:
                    raise InvalidArgument(
                        "unknown_parent_department", "parent department not found"
                    )
                await self._check_head(repo, head_id)
                if await repo.department_name_taken(name, parent_id):
                    raise taken
                row = Department(
                    id=new_id(),
                    name=name,
                    parent_id=parent_id,
                    head_id=head_id,
                    stride_enabled=(
                        request.stride_enabled if request.HasField("stride_enabled") else True
                    ),
                    external_id=request.external_id.strip() or None,
                    created_at=utcnow(),
                )
                repo.add(row)
                await session.flush()
                msg = department_pb(row)
                await _emit(
                    session,
                    SUBJECT_DEPARTMENT_CREATED,
                    pb.DepartmentCreated(meta=new_event_meta("identity"), department=msg),
                )
                await _audit(session, "department.create", "department", row.id, None, msg)
        except IntegrityError as exc:
            raise taken from exc
        self.ctx.outbox_committed()
        return msg

    async def UpdateDepartment(
        self, request: pb.UpdateDepartmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Department:
        async with transaction(self.ctx.sessions) as session:
            repo = IdentityRepository(session)
            row = await repo.get_department(request.id)
            if row is None:
                raise NotFound("department_not_found", "department not found")
            changed: list[str] = []
            before = department_pb(row)
            if request.HasField("parent_id"):
                parent_id = request.parent_id.strip() or None
                if parent_id is not None:
                    if await repo.get_department(parent_id) is None:
                        raise InvalidArgument(
                            "unknown_parent_department", "parent department not found"
                        )
                    if parent_id == row.id or row.id in await repo.department_ancestors(parent_id):
                        raise InvalidArgument(
                            "department_cycle", "a department cannot sit below itself"
                        )
                if parent_id != row.parent_id:
                    row.parent_id = parent_id
                    changed.append("parent_id")
            if request.HasField("name"):
                name = domain.clean_name(request.name)
                if name != row.name:
                    row.name = name
                    changed.append("name")
            if "name" in changed or "parent_id" in changed:
                if await repo.department_name_taken(row.name, row.parent_id, except_id=row.id):
                    raise AlreadyExists(
                        "department_name_taken", f"a department named {row.name!r} exists here"
                    )
            if request.HasField("head_id"):
                head_id = request.head_id.strip() or None
                await self._check_head(repo, head_id)
                if head_id != row.head_id:
                    row.head_id = head_id
                    changed.append("head_id")
            if request.HasField("stride_enabled") and request.stride_enabled != row.stride_enabled:
                row.stride_enabled = request.stride_enabled
                changed.append("stride_enabled")
            msg = department_pb(row)
            if changed:
                await _emit(
                    session,
                    SUBJECT_DEPARTMENT_UPDATED,
                    pb.DepartmentUpdated(
                        meta=new_event_meta("identity"), department=msg, changed_fields=changed
                    ),
                )
                await _audit(session, "department.update", "department", row.id, before, msg)
        if changed:
            self.ctx.outbox_committed()
        return msg

    async def GetDepartment(
        self, request: pb.GetDepartmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Department:
        async with self.ctx.sessions() as session:
            row = await IdentityRepository(session).get_department(request.id)
        if row is None:
            raise NotFound("department_not_found", "department not found")
        return department_pb(row)

    async def ListDepartments(
        self, request: pb.ListDepartmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDepartmentsResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            rows = await IdentityRepository(session).list_departments(limit, offset)
        return pb.ListDepartmentsResponse(
            departments=[department_pb(r) for r in rows], page=_next(offset, limit, len(rows))
        )

    # --- employees ----------------------------------------------------------------------
    async def _check_manager(
        self, repo: IdentityRepository, employee_id: str, manager_id: str
    ) -> None:
        manager = await repo.get_employee(manager_id)
        if manager is None:
            raise InvalidArgument("unknown_manager", "manager not found")
        if manager.status != "active":
            raise InvalidArgument("inactive_manager", "the manager has left")
        chain = [m.id for m in await repo.manager_chain(manager_id)]
        domain.check_manager(employee_id, manager_id, chain)

    async def CreateEmployee(
        self, request: pb.CreateEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Employee:
        new = domain.new_employee(
            request.employee_number,
            request.name,
            request.email,
            request.department_id,
            request.manager_id,
            mobile=request.mobile,
            title=request.title,
            grade=request.grade,
            hire_date=request.hire_date,
            roles=request.roles,
            external_id=request.external_id,
        )
        taken = AlreadyExists(
            "employee_number_taken", f"employee number {new.employee_number!r} is already in use"
        )
        employee_id = new_id()
        try:
            async with transaction(self.ctx.sessions) as session:
                repo = IdentityRepository(session)
                if await repo.get_department(new.department_id) is None:
                    raise InvalidArgument("unknown_department", "department not found")
                if new.manager_id is not None:
                    await self._check_manager(repo, employee_id, new.manager_id)
                if await repo.employee_number_taken(new.employee_number):
                    raise taken
                row = Employee(
                    id=employee_id,
                    employee_number=new.employee_number,
                    name=new.name,
                    email=new.email,
                    department_id=new.department_id,
                    manager_id=new.manager_id,
                    status="active",
                    mobile=new.mobile,
                    title=new.title,
                    grade=new.grade,
                    hire_date=new.hire_date,
                    roles=" ".join(new.roles),
                    external_id=new.external_id,
                    created_at=utcnow(),
                )
                repo.add(row)
                await session.flush()
                msg = employee_pb(row)
                await _emit(
                    session,
                    SUBJECT_EMPLOYEE_CREATED,
                    pb.EmployeeCreated(meta=new_event_meta("identity"), employee=msg),
                )
                await _audit(session, "employee.create", "employee", row.id, None, msg)
        except IntegrityError as exc:  # a concurrent request took the number first
            raise taken from exc
        self.ctx.outbox_committed()
        return msg

    async def UpdateEmployee(
        self, request: pb.UpdateEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Employee:
        async with transaction(self.ctx.sessions) as session:
            repo = IdentityRepository(session)
            row = await repo.get_employee(request.id)
            if row is None:
                raise NotFound("employee_not_found", "employee not found")
            before = (await employees_pb(repo, [row]))[0]
            changes: dict[str, object] = {}
            if request.HasField("name"):
                changes["name"] = domain.clean_name(request.name)
            if request.HasField("email"):
                changes["email"] = domain.clean_email(request.email)
            if request.HasField("mobile"):
                changes["mobile"] = domain.clean_mobile(request.mobile)
            if request.HasField("title"):
                changes["title"] = domain.clean_optional(request.title, "title", 200)
            if request.HasField("grade"):
                changes["grade"] = domain.clean_optional(request.grade, "grade", 32)
            if request.HasField("hire_date"):
                changes["hire_date"] = domain.clean_hire_date(request.hire_date)
            if request.replace_roles:
                changes["roles"] = " ".join(domain.clean_roles(request.roles))
            if request.HasField("department_id"):
                department_id = request.department_id.strip()
                if await repo.get_department(department_id) is None:
                    raise InvalidArgument("unknown_department", "department not found")
                changes["department_id"] = department_id
            if request.HasField("manager_id"):
                manager_id = request.manager_id.strip() or None
                if manager_id is not None and manager_id != row.manager_id:
                    await self._check_manager(repo, row.id, manager_id)
                changes["manager_id"] = manager_id
            if request.HasField("status"):
                if request.status not in _STATUS_NAME:
                    raise InvalidArgument("invalid_status", "status must be active or left")
                changes["status"] = _STATUS_NAME[request.status]
            changed = [k for k, v in changes.items() if getattr(row, k) != v]
            for key in changed:
                setattr(row, key, changes[key])
            await session.flush()
            msg = (await employees_pb(repo, [row]))[0]
            if changed:
                meta = new_event_meta("identity")
                if "status" in changed and row.status == "left":
                    await _emit(
                        session,
                        SUBJECT_EMPLOYEE_DEACTIVATED,
                        pb.EmployeeDeactivated(meta=meta, employee=msg),
                    )
                else:
                    await _emit(
                        session,
                        SUBJECT_EMPLOYEE_UPDATED,
                        pb.EmployeeUpdated(meta=meta, employee=msg, changed_fields=changed),
                    )
                action = "employee.deactivate" if row.status == "left" else "employee.update"
                await _audit(session, action, "employee", row.id, before, msg)
        if changed:
            self.ctx.outbox_committed()
        return msg

    async def GetEmployee(
        self, request: pb.GetEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Employee:
        async with self.ctx.sessions() as session:
            repo = IdentityRepository(session)
            row = await repo.get_employee(request.id)
            if row is None:
                raise NotFound("employee_not_found", "employee not found")
            return (await employees_pb(repo, [row]))[0]

    async def ListEmployees(
        self, request: pb.ListEmployeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEmployeesResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            repo = IdentityRepository(session)
            rows = await repo.list_employees(
                limit, offset, request.department_id, request.manager_id
            )
            items = await employees_pb(repo, rows)
        return pb.ListEmployeesResponse(employees=items, page=_next(offset, limit, len(rows)))

    async def ListReports(
        self, request: pb.ListReportsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEmployeesResponse:
        limit, offset = _page(request.page)
        async with self.ctx.sessions() as session:
            repo = IdentityRepository(session)
            if await repo.get_employee(request.employee_id) is None:
                raise NotFound("employee_not_found", "employee not found")
            rows = await repo.reports(
                request.employee_id, transitive=request.transitive, limit=limit, offset=offset
            )
            items = await employees_pb(repo, rows)
        return pb.ListEmployeesResponse(employees=items, page=_next(offset, limit, len(rows)))

    async def GetManagerChain(
        self, request: pb.GetManagerChainRequest, context: grpc.aio.ServicerContext
    ) -> pb.ManagerChain:
        async with self.ctx.sessions() as session:
            repo = IdentityRepository(session)
            if await repo.get_employee(request.employee_id) is None:
                raise NotFound("employee_not_found", "employee not found")
            chain = await repo.manager_chain(request.employee_id)
            return pb.ManagerChain(managers=[employee_pb(m, is_manager=True) for m in chain])

    async def LookupEmployees(
        self, request: pb.LookupEmployeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.LookupEmployeesResponse:
        if len(request.employee_numbers) > 10_000:
            raise InvalidArgument("too_many_numbers", "look up at most 10,000 numbers at once")
        async with self.ctx.sessions() as session:
            repo = IdentityRepository(session)
            rows = await repo.by_numbers(request.employee_numbers)
            return pb.LookupEmployeesResponse(employees=await employees_pb(repo, rows))
