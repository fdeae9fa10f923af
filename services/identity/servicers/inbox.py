"""InboxService: notifications for people (deliver once per key, list, mark)."""

from __future__ import annotations

import grpc

from services.common.paging import next_page_token, page_window
from services.identity.handlers.inbox import Inbox
from stride.common.v1 import common_pb2
from stride.identity.v1 import inbox_pb2 as pb
from stride.identity.v1 import inbox_pb2_grpc


class InboxServicer(inbox_pb2_grpc.InboxServiceServicer):
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def Deliver(
        self, request: pb.DeliverRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeliverResponse:
        return await self.inbox.deliver(request)

    async def ListInbox(
        self, request: pb.ListInboxRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInboxResponse:
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        items, unread = await self.inbox.page(
            request.recipient_id, unread_only=request.unread_only, limit=limit, offset=offset
        )
        return pb.ListInboxResponse(
            items=items,
            page=common_pb2.PageResponse(
                next_page_token=next_page_token(offset, limit, len(items))
            ),
            unread_count=unread,
        )

    async def MarkRead(
        self, request: pb.MarkReadRequest, context: grpc.aio.ServicerContext
    ) -> pb.InboxItem:
        return await self.inbox.mark_read(request.id, request.recipient_id)

    async def MarkEmailed(
        self, request: pb.MarkEmailedRequest, context: grpc.aio.ServicerContext
    ) -> pb.InboxItem:
        return await self.inbox.mark_emailed(request.id)
