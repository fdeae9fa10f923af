"""Approvals, the read side: my pending approvals and one approval. (Decisions go through
the cycle/<cycle>/plan/<employee> workflow's Update, elsewhere.)"""

from __future__ import annotations

from typing import Any, Literal

from gateway.convert import enum_number, to_dict
from gateway.deps import FilterId, Paging, PathId, RpcDep
from gateway.problems import ProblemError
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.approvals import Approval
from gateway.schemas.common import Page
from gateway.schemas.words import ApprovalStatus
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as pb

router = ResourceRouter(prefix="/approvals", tags=["approvals"], route_class=StrideRoute)


@router.get(
    "",
    response_model=Page[Approval],
    name="list_approvals",
    description="Without filters: the approvals the caller may decide now that are pending "
    "(approver_id = me, status pending). Anyone may also list the approvals of their own "
    "goals (`employee_id` = me); HR and admin may filter by any approver or employee. "
    "`status=any` lists every status.",
)
async def list_approvals(
    rpc: RpcDep,
    paging: Paging,
    approver_id: FilterId = "",
    employee_id: FilterId = "",
    cycle_id: FilterId = "",
    status: ApprovalStatus | Literal["any"] = "pending",
    access: Access = Allow("approval.list"),
) -> dict[str, Any]:
    me = access.caller.id
    if not approver_id and not employee_id:
        approver_id = me
    if not access.sees_everything and not (
        (approver_id == me and employee_id in ("", me)) or (not approver_id and employee_id == me)
    ):
        raise ProblemError(
            403, "forbidden", "You may list only the approvals you decide or your own goals'."
        )
    msg = await rpc(
        rpc.goals.ListApprovals,
        pb.ListApprovalsRequest(
            page=paging.proto(),
            approver_id=approver_id,
            employee_id=employee_id,
            cycle_id=cycle_id,
            status=(
                pb.APPROVAL_STATUS_UNSPECIFIED
                if status == "any"
                else enum_number(pb.ApprovalStatus, status)
            ),
        ),
    )
    return page(msg, "approvals")


@router.get(
    "/{approval_id}",
    response_model=Approval,
    name="get_approval",
    description="Visible to its approvers, the employee whose goals it is about, HR and admin.",
)
async def get_approval(
    approval_id: PathId, access: Access = Allow("approval.read")
) -> dict[str, Any]:
    return to_dict(access.resource)
