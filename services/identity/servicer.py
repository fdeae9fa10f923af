"""gRPC handlers of the identity service: translate, call the domain, translate back."""

from __future__ import annotations

import grpc
from sqlalchemy.exc import IntegrityError

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
SUBJECT_EMPLOYEE_CREATED = "stride.identity.v1.employee.created"
_STATUS = {"active": pb.EMPLOYEE_STATUS_ACTIVE, "left": pb.EMPLOYEE_STATUS_LEFT}


def department_pb(row: Department) -> pb.Department:
    return pb.Department(
        id=row.id, name=row.name, parent_id=row.parent_id or "", created_at=rfc3339(row.created_at)
    )


def employee_pb(row: Employee) -> pb.Employee:
    return pb.Employee(
        id=row.id,
        employee_number=row.employee_number,
        name=row.name,
        email=row.email or "",
        department_id=row.department_id,
        manager_id=row.manager_id or "",
        status=_STATUS.get(row.status, pb.EMPLOYEE_STATUS_UNSPECIFIED),
        created_at=rfc3339(row.created_at),
    )


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def CreateDepartment(
        self, request: pb.CreateDepartmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.Department:
        name = domain.clean_name(request.name)
        parent_id = request.parent_id.strip() or None
        try:
            async with transaction(self.ctx.sessions) as session:
                repo = IdentityRepository(session)
                if parent_id and await repo.get_department(parent_id) is None:
                    raise InvalidArgument(
                        "unknown_parent_department", "parent department not found"
                    )
                if await repo.department_name_taken(name, parent_id):
                    raise AlreadyExists(
                        "department_name_taken", f"a department named {name!r} already exists here"
                    )
                row = Department(id=new_id(), name=name, parent_id=parent_id, created_at=utcnow())
                repo.add(row)
                await session.flush()
                msg = department_pb(row)
                await add_event(
                    session,
                    OUTBOX,
                    SUBJECT_DEPARTMENT_CREATED,
                    pb.DepartmentCreated(meta=new_event_meta("identity"), department=msg),
                )
        except IntegrityError as exc:
            raise AlreadyExists(
                "department_name_taken", f"a department named {name!r} already exists here"
            ) from exc
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
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        async with self.ctx.sessions() as session:
            rows = await IdentityRepository(session).list_departments(limit, offset)
        return pb.ListDepartmentsResponse(
            departments=[department_pb(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, len(rows))),
        )

    async def CreateEmployee(
        self, request: pb.CreateEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Employee:
        new = domain.new_employee(
            request.employee_number,
            request.name,
            request.email,
            request.department_id,
            request.manager_id,
        )
        taken = AlreadyExists(
            "employee_number_taken", f"employee number {new.employee_number!r} is already in use"
        )
        try:
            async with transaction(self.ctx.sessions) as session:
                repo = IdentityRepository(session)
                if await repo.get_department(new.department_id) is None:
                    raise InvalidArgument("unknown_department", "department not found")
                if new.manager_id is not None:
                    manager = await repo.get_employee(new.manager_id)
                    if manager is None:
                        raise InvalidArgument("unknown_manager", "manager not found")
                    if manager.status != "active":
                        raise InvalidArgument("inactive_manager", "the manager has left")
                if await repo.employee_number_taken(new.employee_number):
                    raise taken
                row = Employee(
                    id=new_id(),
                    employee_number=new.employee_number,
                    name=new.name,
                    email=new.email,
                    department_id=new.department_id,
                    manager_id=new.manager_id,
                    status="active",
                    created_at=utcnow(),
                )
                repo.add(row)
                await session.flush()
                msg = employee_pb(row)
                await add_event(
                    session,
                    OUTBOX,
                    SUBJECT_EMPLOYEE_CREATED,
                    pb.EmployeeCreated(meta=new_event_meta("identity"), employee=msg),
                )
        except IntegrityError as exc:  # a concurrent request took the number first
            raise taken from exc
        self.ctx.outbox_committed()
        return msg

    async def GetEmployee(
        self, request: pb.GetEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Employee:
        async with self.ctx.sessions() as session:
            row = await IdentityRepository(session).get_employee(request.id)
        if row is None:
            raise NotFound("employee_not_found", "employee not found")
        return employee_pb(row)

    async def ListEmployees(
        self, request: pb.ListEmployeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEmployeesResponse:
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        async with self.ctx.sessions() as session:
            rows = await IdentityRepository(session).list_employees(
                limit, offset, request.department_id, request.manager_id
            )
        return pb.ListEmployeesResponse(
            employees=[employee_pb(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, len(rows))),
        )
