"""The goals service's view of people: asks the identity service over gRPC."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from services.common.channels import MAX_MESSAGE_BYTES, channel
from services.common.errors import DomainError, InvalidArgument
from stride.identity.v1 import identity_pb2 as pb
from stride.identity.v1 import identity_pb2_grpc

DEADLINE_SECONDS = 5.0


class IdentityClient:
    def __init__(self, address: str, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.channel = channel(address, max_message_bytes=max_message_bytes)
        self.stub = identity_pb2_grpc.IdentityServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close(None)

    async def employee(self, employee_id: str, field: str = "owner") -> pb.Employee:
        """The employee, or InvalidArgument ``unknown_<field>`` when there is none."""
        if not employee_id:
            raise InvalidArgument(f"{field}_required", f"{field}_id must be given")
        try:
            found = await self.stub.GetEmployee(
                pb.GetEmployeeRequest(id=employee_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            raise self._translate(exc, field) from exc
        if found.status != pb.EMPLOYEE_STATUS_ACTIVE:
            raise InvalidArgument(f"inactive_{field}", f"the {field} has left the organisation")
        return found

    async def department(self, department_id: str) -> pb.Department:
        try:
            return await self.stub.GetDepartment(
                pb.GetDepartmentRequest(id=department_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            raise self._translate(exc, "department") from exc

    async def managers(self, employee_id: str) -> list[str]:
        """The employee's active managers, direct manager first (empty at the top); a manager
        who has left is skipped, so approvals go to the next one up."""
        try:
            chain = await self.stub.GetManagerChain(
                pb.GetManagerChainRequest(employee_id=employee_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            raise self._translate(exc, "employee") from exc
        return [m.id for m in chain.managers if m.status == pb.EMPLOYEE_STATUS_ACTIVE]

    async def employee_ids(self, numbers: Sequence[str]) -> dict[str, str]:
        """Employee number → id of the employees with those numbers (left ones too; unknown
        numbers are absent)."""
        if not numbers:
            return {}
        try:
            found = await self.stub.LookupEmployees(
                pb.LookupEmployeesRequest(employee_numbers=list(numbers)),
                timeout=DEADLINE_SECONDS,
            )
        except grpc.aio.AioRpcError as exc:
            raise self._translate(exc, "employee") from exc
        return {e.employee_number: e.id for e in found.employees}

    @staticmethod
    def _translate(exc: grpc.aio.AioRpcError, field: str) -> DomainError:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return InvalidArgument(f"unknown_{field}", f"{field} not found")
        return DomainError(
            "identity_unavailable",
            "the identity service did not answer; try again",
            status=grpc.StatusCode.UNAVAILABLE,
        )
