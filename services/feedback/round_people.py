"""What 360 rounds ask the identity service (over gRPC): who is in scope, whose manager is
whom, who reports to whom, and whether a viewer is HR."""

from __future__ import annotations

import grpc

from services.common.channels import MAX_MESSAGE_BYTES, channel
from services.common.errors import DomainError, InvalidArgument
from services.common.paging import MAX_PAGE_SIZE
from stride.common.v1 import common_pb2
from stride.identity.v1 import identity_pb2 as pb
from stride.identity.v1 import identity_pb2_grpc

DEADLINE_SECONDS = 10.0
HR_ROLE = "hr"


def _unavailable() -> DomainError:
    return DomainError(
        "identity_unavailable",
        "the identity service did not answer; try again",
        status=grpc.StatusCode.UNAVAILABLE,
    )


class RoundPeople:
    def __init__(self, address: str, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.channel = channel(address, max_message_bytes=max_message_bytes)
        self.stub = identity_pb2_grpc.IdentityServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close(None)

    async def employee(self, employee_id: str, field: str = "employee") -> pb.Employee | None:
        """The employee (None when there is none); UNAVAILABLE when identity does not answer."""
        if not employee_id:
            return None
        try:
            return await self.stub.GetEmployee(
                pb.GetEmployeeRequest(id=employee_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise _unavailable() from exc

    async def department(self, department_id: str) -> None:
        """InvalidArgument ``unknown_department`` unless it exists."""
        try:
            await self.stub.GetDepartment(
                pb.GetDepartmentRequest(id=department_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise InvalidArgument("unknown_department", "department not found") from exc
            raise _unavailable() from exc

    async def active_employees(self, department_id: str = "") -> list[pb.Employee]:
        """The active employees of a department (all of the organisation for "")."""
        found: list[pb.Employee] = []
        token = ""
        while True:
            try:
                page = await self.stub.ListEmployees(
                    pb.ListEmployeesRequest(
                        department_id=department_id,
                        page=common_pb2.PageRequest(page_size=MAX_PAGE_SIZE, page_token=token),
                    ),
                    timeout=DEADLINE_SECONDS,
                )
            except grpc.aio.AioRpcError as exc:
                raise _unavailable() from exc
            found += [e for e in page.employees if e.status == pb.EMPLOYEE_STATUS_ACTIVE]
            token = page.page.next_page_token
            if not token:
                return found

    async def direct_reports(self, employee_id: str) -> frozenset[str]:
        """The active direct reports of an employee."""
        found: set[str] = set()
        token = ""
        while True:
            try:
                page = await self.stub.ListReports(
                    pb.ListReportsRequest(
                        employee_id=employee_id,
                        page=common_pb2.PageRequest(page_size=MAX_PAGE_SIZE, page_token=token),
                    ),
                    timeout=DEADLINE_SECONDS,
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    return frozenset()
                raise _unavailable() from exc
            found |= {e.id for e in page.employees if e.status == pb.EMPLOYEE_STATUS_ACTIVE}
            token = page.page.next_page_token
            if not token:
                return frozenset(found)

    async def is_hr(self, employee_id: str) -> bool:
        """Whether the person holds the HR role (admin alone is not enough)."""
        found = await self.employee(employee_id)
        return bool(
            found is not None
            and found.status == pb.EMPLOYEE_STATUS_ACTIVE
            and HR_ROLE in found.roles
        )

    async def manager_of(self, employee_id: str) -> str:
        """The employee's current direct manager ("" when none)."""
        found = await self.employee(employee_id)
        return found.manager_id if found is not None else ""
