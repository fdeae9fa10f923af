from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gateway.convert import to_dict
from gateway.deps import FilterId, Paging, PathId, RpcDep
from gateway.routers.common import created, page
from gateway.routes import StrideRoute
from gateway.schemas.approvals import Approval
from gateway.schemas.common import Page, Week
from gateway.schemas.cycles import Cycle, CycleCreate, ParticipationReport, PlanSubmit, Scores
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as pb

router = APIRouter(prefix="/cycles", tags=["cycles"], route_class=StrideRoute)


@router.post(
    "",
    status_code=201,
    response_model=Cycle,
    name="create_cycle",
    dependencies=[Allow("cycle.create")],
)
async def create_cycle(
    body: CycleCreate, rpc: RpcDep, request: Request, response: Response
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.CreateCycle,
        pb.CreateCycleRequest(
            name=body.name,
            start_date=body.start_date.isoformat(),
            end_date=body.end_date.isoformat(),
            time_zone=body.time_zone,
            planning_deadline=body.planning_deadline.isoformat() if body.planning_deadline else "",
            approval_deadline=body.approval_deadline.isoformat() if body.approval_deadline else "",
            closing_deadline=body.closing_deadline.isoformat() if body.closing_deadline else "",
        ),
    )
    created(request, response, "get_cycle", cycle_id=msg.id)
    return to_dict(msg)


@router.get("", response_model=Page[Cycle], name="list_cycles", dependencies=[Allow("cycle.read")])
async def list_cycles(rpc: RpcDep, paging: Paging) -> dict[str, Any]:
    msg = await rpc(rpc.goals.ListCycles, pb.ListCyclesRequest(page=paging.proto()))
    return page(msg, "cycles")


@router.get(
    "/{cycle_id}", response_model=Cycle, name="get_cycle", dependencies=[Allow("cycle.read")]
)
async def get_cycle(cycle_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.goals.GetCycle, pb.GetCycleRequest(id=cycle_id)))


@router.post(
    "/{cycle_id}/close",
    response_model=Cycle,
    name="close_cycle",
    dependencies=[Allow("cycle.close")],
)
async def close_cycle(cycle_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.goals.CloseCycle, pb.CloseCycleRequest(id=cycle_id)))


@router.get(
    "/{cycle_id}/scores",
    response_model=Scores,
    name="get_scores",
    description="Scores (0..1) per objective, person and department, and alignment % "
    "(share of non-company objectives aligned to a parent). HR, admin and executives see "
    "the whole cycle (or filter); department heads pass `department_id` of a department "
    "they head (or one below); managers `owner_id` of a report; without filters everyone "
    "else sees their own.",
)
async def get_scores(
    cycle_id: PathId,
    rpc: RpcDep,
    department_id: FilterId = "",
    owner_id: FilterId = "",
    access: Access = Allow("cycle.scores"),
) -> dict[str, Any]:
    owner_id = await access.goals_filter(owner_id, department_id)
    msg = await rpc(
        rpc.goals.GetScores,
        pb.GetScoresRequest(cycle_id=cycle_id, department_id=department_id, owner_id=owner_id),
    )
    return to_dict(msg)


@router.get(
    "/{cycle_id}/participation",
    response_model=ParticipationReport,
    name="get_participation",
    dependencies=[Allow("cycle.participation")],
    description="Per person: objectives drafted / pending / approved and key results checked "
    "in during `week` (default: the current week in the cycle's time zone).",
)
async def get_participation(
    cycle_id: PathId,
    rpc: RpcDep,
    week: Annotated[Week | None, Query(description='ISO week "YYYY-Www"')] = None,
    owner_id: Annotated[list[str], Query(max_length=200)] = [],  # noqa: B006
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.GetParticipation,
        pb.GetParticipationRequest(cycle_id=cycle_id, week=week or "", owner_ids=owner_id),
    )
    return to_dict(msg)


@router.post(
    "/{cycle_id}/plan/submit",
    status_code=201,
    response_model=Approval,
    tags=["approvals"],
    name="submit_plan",
    description="Submits the caller's draft objectives of the cycle (all, or `objective_ids`) "
    "for their manager's approval; answers with the pending approval.",
)
async def submit_plan(
    cycle_id: PathId,
    body: PlanSubmit,
    rpc: RpcDep,
    request: Request,
    response: Response,
    access: Access = Allow("plan.submit"),
) -> dict[str, Any]:
    employee_id = await access.acting_for(body.employee_id)
    msg = await rpc(
        rpc.goals.SubmitPlan,
        pb.SubmitPlanRequest(
            cycle_id=cycle_id, employee_id=employee_id, objective_ids=body.objective_ids
        ),
    )
    created(request, response, "get_approval", approval_id=msg.id)
    return to_dict(msg)
