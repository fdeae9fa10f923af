from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request, Response

from gateway import policy
from gateway.convert import enum_number, to_dict
from gateway.deps import FilterId, Paging, PathId, RpcDep
from gateway.routers.common import created, page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import Page
from gateway.schemas.employees import (
    Employee,
    EmployeeCreate,
    EmployeeUpdate,
    PasswordReset,
    PasswordResetResult,
)
from gateway.security import Access, Allow
from stride.identity.v1 import auth_pb2
from stride.identity.v1 import identity_pb2 as pb

router = ResourceRouter(prefix="/employees", tags=["employees"], route_class=StrideRoute)


@router.post("", status_code=201, response_model=Employee, name="create_employee")
async def create_employee(
    body: EmployeeCreate,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("employee.create"),
) -> dict[str, Any]:
    access.require(policy.check_employee_change(access.caller, (), body.roles))
    msg = await rpc(rpc.identity.CreateEmployee, pb.CreateEmployeeRequest(**body.model_dump()))
    created(request, response, "get_employee", employee_id=msg.id)
    return to_dict(msg)


@router.get(
    "",
    response_model=Page[Employee],
    name="list_employees",
    dependencies=[Allow("employee.read")],
)
async def list_employees(
    rpc: RpcDep, paging: Paging, department_id: FilterId = "", manager_id: FilterId = ""
) -> dict[str, Any]:
    msg = await rpc(
        rpc.identity.ListEmployees,
        pb.ListEmployeesRequest(
            page=paging.proto(), department_id=department_id, manager_id=manager_id
        ),
    )
    return page(msg, "employees")


@router.get(
    "/{employee_id}",
    response_model=Employee,
    name="get_employee",
    dependencies=[Allow("employee.read")],
)
async def get_employee(employee_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(rpc.identity.GetEmployee, pb.GetEmployeeRequest(id=employee_id))
    return to_dict(msg)


@router.patch("/{employee_id}", response_model=Employee, name="update_employee")
async def update_employee(
    employee_id: PathId,
    body: EmployeeUpdate,
    rpc: RpcDep,
    access: Access = Allow("employee.update"),
) -> dict[str, Any]:
    current: pb.Employee = access.resource
    access.require(policy.check_employee_change(access.caller, current.roles, body.roles))
    req = pb.UpdateEmployeeRequest(id=employee_id)
    for field in body.model_fields_set:
        value = getattr(body, field)
        if value is None:
            continue
        if field == "roles":
            req.roles.extend(value)
            req.replace_roles = True
        elif field == "status":
            req.status = enum_number(pb.EmployeeStatus, value)
        else:
            setattr(req, field, value)
    return to_dict(await rpc(rpc.identity.UpdateEmployee, req))


def temporary_password() -> str:
    """Random, and always within identity's password policy (letters and other characters)."""
    return f"{secrets.token_urlsafe(12)}-{secrets.randbelow(90) + 10}"


@router.post(
    "/{employee_id}/password-reset",
    response_model=PasswordResetResult,
    tags=["auth"],
    name="reset_password",
    description="Sets a new password that the person must change at their next sign-in, and "
    "ends their sessions. Without new_password a temporary one is generated and shown once.",
)
async def reset_password(
    employee_id: PathId,
    body: PasswordReset,
    rpc: RpcDep,
    response: Response,
    access: Access = Allow("employee.password_reset"),
) -> dict[str, Any]:
    target: pb.Employee = access.resource
    access.require(policy.check_password_reset(access.caller, target.roles))
    generated = body.new_password is None
    password = temporary_password() if body.new_password is None else body.new_password
    await rpc(
        rpc.auth.SetPassword,
        auth_pb2.SetPasswordRequest(employee_id=target.id, new_password=password, reset=True),
    )
    response.headers["Cache-Control"] = "no-store"
    return {
        "employee_id": target.id,
        "must_change_password": True,
        "temporary_password": password if generated else None,
    }


@router.delete(
    "/{employee_id}/pin",
    status_code=204,
    tags=["auth"],
    name="reset_pin",
    description="Remove a person's PIN for shared devices (HR, admin; only admins for HR/admin "
    "accounts): they set a new one with their password. 204 also when they had none.",
)
async def reset_pin(
    employee_id: PathId, rpc: RpcDep, access: Access = Allow("employee.pin_reset")
) -> Response:
    target: pb.Employee = access.resource
    access.require(policy.check_pin_reset(access.caller, target.roles))
    await rpc(rpc.auth.ResetPin, auth_pb2.ResetPinRequest(employee_id=target.id))
    return Response(status_code=204)
