from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gateway.convert import to_dict
from gateway.deps import Paging, PathId, RpcDep
from gateway.routers.common import created, page
from gateway.schemas import Employee, EmployeeCreate, Page
from stride.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/employees", tags=["employees"])

FilterId = Annotated[str, Query(max_length=128)]


@router.post("", status_code=201, response_model=Employee, name="create_employee")
async def create_employee(
    body: EmployeeCreate, rpc: RpcDep, request: Request, response: Response
) -> dict[str, Any]:
    msg = await rpc(rpc.identity.CreateEmployee, pb.CreateEmployeeRequest(**body.model_dump()))
    created(request, response, "get_employee", employee_id=msg.id)
    return to_dict(msg)


@router.get("", response_model=Page[Employee], name="list_employees")
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


@router.get("/{employee_id}", response_model=Employee, name="get_employee")
async def get_employee(employee_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(rpc.identity.GetEmployee, pb.GetEmployeeRequest(id=employee_id))
    return to_dict(msg)
