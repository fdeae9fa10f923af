from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gateway.convert import to_dict
from gateway.deps import Paging, PathId, RpcDep
from gateway.policy import Facts
from gateway.routers.common import created, page
from gateway.schemas import KeyResult, KeyResultCreate, Objective, ObjectiveCreate, Page
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as pb

router = APIRouter(prefix="/objectives", tags=["objectives"])

FilterId = Annotated[str, Query(max_length=128)]


@router.post(
    "",
    status_code=201,
    response_model=Objective,
    name="create_objective",
    description="Employees create their own objectives (owner_id = themselves); admins any.",
)
async def create_objective(
    body: ObjectiveCreate,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("objective.create"),
) -> dict[str, Any]:
    await access.check("objective.create", Facts(owner_id=body.owner_id))
    msg = await rpc(rpc.goals.CreateObjective, pb.CreateObjectiveRequest(**body.model_dump()))
    created(request, response, "get_objective", objective_id=msg.id)
    return to_dict(msg)


@router.get(
    "",
    response_model=Page[Objective],
    name="list_objectives",
    description="Only the objectives the caller may read: their own, their reports' "
    "(all levels), their departments' when they head one, or all (HR, admin, executive).",
)
async def list_objectives(
    rpc: RpcDep,
    paging: Paging,
    cycle_id: FilterId = "",
    owner_id: FilterId = "",
    access: Access = Allow("objective.list"),
) -> dict[str, Any]:
    scope = await access.scope()
    msg = await rpc(
        rpc.goals.ListObjectives,
        pb.ListObjectivesRequest(
            page=paging.proto(),
            cycle_id=cycle_id,
            owner_id=owner_id,
            visible_owner_ids=scope.owner_ids,
            visible_department_ids=scope.department_ids,
        ),
    )
    return page(msg, "objectives")


@router.get("/{objective_id}", response_model=Objective, name="get_objective")
async def get_objective(
    objective_id: PathId, access: Access = Allow("objective.read")
) -> dict[str, Any]:
    return to_dict(access.resource)


@router.post(
    "/{objective_id}/key-results",
    status_code=201,
    response_model=KeyResult,
    tags=["key-results"],
    name="create_key_result",
    description="On one's own objective, owned by oneself (admins: any).",
)
async def create_key_result(
    objective_id: PathId,
    body: KeyResultCreate,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("key_result.create"),
) -> dict[str, Any]:
    if body.owner_id and body.owner_id != access.resource.owner_id:
        # Giving the key result to someone else: the caller must be allowed to create goals
        # owned by that person (the objective.create rule).
        await access.check("objective.create", Facts(owner_id=body.owner_id))
    msg = await rpc(
        rpc.goals.CreateKeyResult,
        pb.CreateKeyResultRequest(objective_id=objective_id, **body.model_dump()),
    )
    created(request, response, "get_key_result", key_result_id=msg.id)
    return to_dict(msg)


@router.get(
    "/{objective_id}/key-results",
    response_model=Page[KeyResult],
    tags=["key-results"],
    name="list_key_results",
)
async def list_key_results(
    objective_id: PathId, rpc: RpcDep, paging: Paging, access: Access = Allow("objective.read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.ListKeyResults,
        pb.ListKeyResultsRequest(page=paging.proto(), objective_id=objective_id),
    )
    return page(msg, "key_results")
