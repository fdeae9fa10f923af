"""InboxService: notifications for people (deliver once per key, list, mark)."""

from __future__ import annotations

import grpc

from services.identity.handlers.inbox import Inbox
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
        return await self.inbox.page(
            request.recipient_id, unread_only=request.unread_only, page=request.page
        )

    async def MarkRead(
        self, request: pb.MarkReadRequest, context: grpc.aio.ServicerContext
    ) -> pb.InboxItem:
        return await self.inbox.mark_read(request.id, request.recipient_id)

    async def MarkEmailed(
        self, request: pb.MarkEmailedRequest, context: grpc.aio.ServicerContext
    ) -> pb.InboxItem:
        return await self.inbox.mark_emailed(request.id)
