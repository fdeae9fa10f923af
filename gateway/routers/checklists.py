"""A department's weekly check-in checklist (answered with each check-in)."""

from __future__ import annotations

from typing import Any

from gateway.convert import to_dict
from gateway.deps import PathId, RpcDep
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.checklists import Checklist, ChecklistUpdate
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as pb

router = ResourceRouter(prefix="/departments", tags=["checklists"], route_class=StrideRoute)


@router.get(
    "/{department_id}/checklist",
    response_model=Checklist,
    name="get_checklist",
    dependencies=[Allow("checklist.read")],
    description="Items with labels in Chinese and English; empty when none is set.",
)
async def get_checklist(department_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(rpc.goals.GetChecklist, pb.GetChecklistRequest(department_id=department_id))
    return to_dict(msg)


@router.put(
    "/{department_id}/checklist",
    response_model=Checklist,
    name="set_checklist",
    description="Replaces the checklist. HR, admin, or a head of the department (or of one "
    "above it).",
)
async def set_checklist(
    department_id: PathId,
    body: ChecklistUpdate,
    rpc: RpcDep,
    access: Access = Allow("checklist.update"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.SetChecklist,
        pb.SetChecklistRequest(
            department_id=department_id,
            items=[pb.ChecklistItem(**i.model_dump()) for i in body.items],
        ),
    )
    return to_dict(msg)
