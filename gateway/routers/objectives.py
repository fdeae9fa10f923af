from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from gateway.convert import enum_number, to_dict
from gateway.deps import FilterId, Paging, PathId, RpcDep
from gateway.policy import Facts
from gateway.routers.common import created, page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import Page
from gateway.schemas.key_results import KeyResult, KeyResultCreate
from gateway.schemas.objectives import (
    Objective,
    ObjectiveCopy,
    ObjectiveCopyResult,
    ObjectiveCreate,
    ObjectiveUpdate,
    WeightsUpdate,
)
from gateway.schemas.words import Level, ObjectiveStatusName
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as pb

router = ResourceRouter(prefix="/objectives", tags=["objectives"], route_class=StrideRoute)


def _level(label: str) -> pb.ObjectiveLevel.ValueType:
    return enum_number(pb.ObjectiveLevel, label)


def _visibility(label: str) -> pb.Visibility.ValueType:
    return enum_number(pb.Visibility, label)


@router.post(
    "",
    status_code=201,
    response_model=Objective,
    name="create_objective",
    description="Employees create their own objectives (owner_id = themselves); admins any. "
    "Key results may be created with it (all or nothing; weights total 100), owned by the "
    "owner or by people in their reporting line (rule key_result.assign: 403 "
    "outside_reporting_line otherwise).",
)
async def create_objective(
    body: ObjectiveCreate,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("objective.create"),
) -> dict[str, Any]:
    await access.check("objective.create", Facts(owner_id=body.owner_id))
    for kr in body.key_results:
        await access.may_give_to(kr.owner_id, body.owner_id)
    msg = await rpc(
        rpc.goals.CreateObjective,
        pb.CreateObjectiveRequest(
            cycle_id=body.cycle_id,
            title=body.title,
            description=body.description,
            owner_id=body.owner_id,
            department_id=body.department_id,
            level=_level(body.level),
            visibility=_visibility(body.visibility),
            parent_id=body.parent_id,
            project=body.project,
            stretch=body.stretch,
            start_date=body.start_date.isoformat() if body.start_date else "",
            end_date=body.end_date.isoformat() if body.end_date else "",
            key_results=[pb.NewKeyResult(**kr.proto_fields()) for kr in body.key_results],
        ),
    )
    created(request, response, "get_objective", objective_id=msg.id)
    return to_dict(msg)


@router.get(
    "",
    response_model=Page[Objective],
    name="list_objectives",
    description="Only the objectives the caller may read: their own, their reports' "
    "(all levels), their departments' when they head one, public ones, or all (HR, admin, "
    "executive). Filters narrow that further.",
)
async def list_objectives(
    rpc: RpcDep,
    paging: Paging,
    cycle_id: FilterId = "",
    owner_id: FilterId = "",
    department_id: FilterId = "",
    parent_id: FilterId = "",
    level: Level | None = None,
    status: ObjectiveStatusName | None = None,
    access: Access = Allow("objective.list"),
) -> dict[str, Any]:
    scope = await access.scope()
    msg = await rpc(
        rpc.goals.ListObjectives,
        pb.ListObjectivesRequest(
            page=paging.proto(),
            cycle_id=cycle_id,
            owner_id=owner_id,
            department_id=department_id,
            parent_id=parent_id,
            level=_level(level) if level else pb.OBJECTIVE_LEVEL_UNSPECIFIED,
            status=(
                enum_number(pb.ObjectiveStatus, status)
                if status
                else pb.OBJECTIVE_STATUS_UNSPECIFIED
            ),
            visible_owner_ids=scope.owner_ids,
            visible_department_ids=scope.department_ids,
            include_public=not scope.everything,
        ),
    )
    return page(msg, "objectives")


@router.post(
    "/copy",
    status_code=201,
    response_model=ObjectiveCopyResult,
    name="copy_objectives",
    description="Copies objectives (and their key results) of one cycle into another as "
    "drafts: the caller's own (all, or `objective_ids`); admins name `owner_id`.",
)
async def copy_objectives(
    body: ObjectiveCopy, rpc: RpcDep, access: Access = Allow("objective.copy")
) -> dict[str, Any]:
    owner_id = await access.acting_for(body.owner_id)
    msg = await rpc(
        rpc.goals.CopyObjectives,
        pb.CopyObjectivesRequest(
            source_cycle_id=body.source_cycle_id,
            target_cycle_id=body.target_cycle_id,
            objective_ids=body.objective_ids,
            owner_id=owner_id,
        ),
    )
    return to_dict(msg)


@router.get("/{objective_id}", response_model=Objective, name="get_objective")
async def get_objective(
    objective_id: PathId, access: Access = Allow("objective.read")
) -> dict[str, Any]:
    return to_dict(access.resource)


@router.patch(
    "/{objective_id}",
    response_model=Objective,
    name="update_objective",
    description="Draft objectives only (approved ones change through a revision); only the "
    "fields sent change.",
)
async def update_objective(
    objective_id: PathId,
    body: ObjectiveUpdate,
    rpc: RpcDep,
    access: Access = Allow("objective.update"),
) -> dict[str, Any]:
    req = pb.UpdateObjectiveRequest(id=objective_id)
    sent = body.model_dump(exclude_unset=True)
    for name in ("title", "description", "parent_id", "project"):
        if sent.get(name) is not None:
            setattr(req, name, sent[name])
    if body.visibility is not None:
        req.visibility = _visibility(body.visibility)
    if body.level is not None:
        req.level = _level(body.level)
    if body.stretch is not None:
        req.stretch = body.stretch
    return to_dict(await rpc(rpc.goals.UpdateObjective, req))


@router.delete(
    "/{objective_id}",
    status_code=204,
    response_class=Response,
    name="delete_objective",
    description="Draft objectives only, with their key results (409 objective_not_draft "
    "otherwise; 409 objective_has_aligned_objectives while others are aligned to it).",
)
async def delete_objective(
    objective_id: PathId, rpc: RpcDep, access: Access = Allow("objective.delete")
) -> Response:
    await rpc(rpc.goals.DeleteObjective, pb.DeleteObjectiveRequest(id=objective_id))
    return Response(status_code=204)


@router.post(
    "/{objective_id}/key-results",
    status_code=201,
    response_model=KeyResult,
    tags=["key-results"],
    name="create_key_result",
    description="On one's own objective, owned by oneself or by someone in one's reporting "
    "line (rule key_result.assign: 403 outside_reporting_line otherwise); admins: any.",
)
async def create_key_result(
    objective_id: PathId,
    body: KeyResultCreate,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("key_result.create"),
) -> dict[str, Any]:
    await access.may_give_to(body.owner_id, access.resource.owner_id)
    msg = await rpc(
        rpc.goals.CreateKeyResult,
        pb.CreateKeyResultRequest(objective_id=objective_id, **body.proto_fields()),
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


@router.put(
    "/{objective_id}/weights",
    response_model=Objective,
    tags=["key-results"],
    name="set_key_result_weights",
    description="Re-balances the weights of all the objective's key results at once: name "
    "every one, total 100.",
)
async def set_weights(
    objective_id: PathId,
    body: WeightsUpdate,
    rpc: RpcDep,
    access: Access = Allow("key_result.weights"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.SetKeyResultWeights,
        pb.SetKeyResultWeightsRequest(objective_id=objective_id, weights=body.weights),
    )
    return to_dict(msg)
