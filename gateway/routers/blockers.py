"""Blockers addressed to a department: ``GET /departments/{id}/blockers`` (open ones; with
``include_resolved`` all) and ``POST /departments/{id}/blockers/{blocker_id}/resolve``.

A check-in blocker that names a department is stored by goals with the check-in; resolving it
emits ``stride.goals.v1.blocker.resolved``, which the key result's escalation forwards to its
coordination meeting (docs/workflows.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from gateway.convert import to_dict
from gateway.deps import Paging, PathId, RpcDep
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.blockers import DepartmentBlocker
from gateway.schemas.common import Page, QueryBool
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as pb

router = ResourceRouter(prefix="/departments", tags=["blockers"], route_class=StrideRoute)


@router.get(
    "/{department_id}/blockers",
    response_model=Page[DepartmentBlocker],
    name="list_department_blockers",
    description="Check-in blockers that name this department, oldest first: open ones, or "
    "all with include_resolved. Its heads (and heads above), HR, admin.",
)
async def list_department_blockers(
    department_id: PathId,
    rpc: RpcDep,
    paging: Paging,
    include_resolved: Annotated[QueryBool, Query(description="Also resolved ones")] = False,
    access: Access = Allow("blocker.list"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.ListBlockers,
        pb.ListBlockersRequest(
            department_id=department_id, include_resolved=include_resolved, page=paging.proto()
        ),
    )
    return page(msg, "blockers")


@router.post(
    "/{department_id}/blockers/{blocker_id}/resolve",
    response_model=DepartmentBlocker,
    name="resolve_department_blocker",
    description="Marks the blocker resolved (again: unchanged). Its heads (and heads above), "
    "HR, admin. The key result's coordination meeting hears of it.",
)
async def resolve_department_blocker(
    department_id: PathId,
    blocker_id: PathId,
    rpc: RpcDep,
    access: Access = Allow("blocker.resolve"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.goals.ResolveBlocker,
        pb.ResolveBlockerRequest(
            department_id=department_id, blocker_id=blocker_id, resolved_by=access.caller.actor
        ),
    )
    return to_dict(msg)
