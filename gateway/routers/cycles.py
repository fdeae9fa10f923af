from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from gateway.convert import to_dict
from gateway.deps import Paging, PathId, RpcDep
from gateway.routers.common import created, page
from gateway.schemas import Cycle, CycleCreate, Page
from gateway.security import Allow
from stride.goals.v1 import goals_pb2 as pb

router = APIRouter(prefix="/cycles", tags=["cycles"])


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
