"""The caller's in-app inbox (notifications from workflows: approvals, reminders, digests).

Served by identity's InboxService. Only one's own items: another person's item answers 404
exactly like a missing one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from gateway.convert import to_dict
from gateway.deps import Paging, PathId, RpcDep
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import QueryBool
from gateway.schemas.inbox import InboxItem, InboxPage
from gateway.security import Access, Allow
from stride.identity.v1 import inbox_pb2 as pb

router = ResourceRouter(prefix="/me/inbox", tags=["inbox"], route_class=StrideRoute)


@router.get(
    "",
    response_model=InboxPage,
    name="list_inbox",
    description="The caller's notifications, newest first, in zh-CN and en.",
)
async def list_inbox(
    rpc: RpcDep,
    paging: Paging,
    unread_only: Annotated[QueryBool, Query(description="Only items not read yet")] = False,
    access: Access = Allow("inbox.read"),
) -> dict[str, Any]:
    msg = await rpc(
        rpc.inbox.ListInbox,
        pb.ListInboxRequest(
            recipient_id=access.caller.id, unread_only=unread_only, page=paging.proto()
        ),
    )
    return {**page(msg, "items"), "unread_count": msg.unread_count}


@router.post(
    "/{item_id}/read",
    response_model=InboxItem,
    name="mark_inbox_item_read",
    description="Marks one of the caller's items read (idempotent).",
)
async def mark_read(
    item_id: PathId, rpc: RpcDep, access: Access = Allow("inbox.mark_read")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.inbox.MarkRead, pb.MarkReadRequest(recipient_id=access.caller.id, id=item_id)
    )
    return to_dict(msg)
