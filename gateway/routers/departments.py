from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from gateway.convert import to_dict
from gateway.deps import Paging, PathId, RpcDep
from gateway.routers.common import created, page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import Page
from gateway.schemas.departments import Department, DepartmentCreate, DepartmentUpdate
from gateway.security import Allow
from stride.identity.v1 import identity_pb2 as pb

router = ResourceRouter(prefix="/departments", tags=["departments"], route_class=StrideRoute)


@router.post(
    "",
    status_code=201,
    response_model=Department,
    name="create_department",
    dependencies=[Allow("department.create")],
)
async def create_department(
    body: DepartmentCreate, rpc: RpcDep, request: Request, response: Response
) -> dict[str, Any]:
    req = pb.CreateDepartmentRequest(name=body.name, parent_id=body.parent_id, head_id=body.head_id)
    if body.stride_enabled is not None:
        req.stride_enabled = body.stride_enabled
    msg = await rpc(rpc.identity.CreateDepartment, req)
    created(request, response, "get_department", department_id=msg.id)
    return to_dict(msg)


@router.get(
    "",
    response_model=Page[Department],
    name="list_departments",
    dependencies=[Allow("department.read")],
)
async def list_departments(rpc: RpcDep, paging: Paging) -> dict[str, Any]:
    msg = await rpc(rpc.identity.ListDepartments, pb.ListDepartmentsRequest(page=paging.proto()))
    return page(msg, "departments")


@router.get(
    "/{department_id}",
    response_model=Department,
    name="get_department",
    dependencies=[Allow("department.read")],
)
async def get_department(department_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(rpc.identity.GetDepartment, pb.GetDepartmentRequest(id=department_id))
    return to_dict(msg)


@router.patch(
    "/{department_id}",
    response_model=Department,
    name="update_department",
    dependencies=[Allow("department.update")],
)
async def update_department(
    department_id: PathId, body: DepartmentUpdate, rpc: RpcDep
) -> dict[str, Any]:
    req = pb.UpdateDepartmentRequest(id=department_id)
    for field in body.model_fields_set:
        value = getattr(body, field)
        if value is not None:
            setattr(req, field, value)
    return to_dict(await rpc(rpc.identity.UpdateDepartment, req))
