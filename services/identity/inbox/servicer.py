"""gRPC handlers of the inbox (InboxService in the identity process).

Deliver is idempotent by key: the row is unique by key, so a second delivery (a retried
activity, a workflow that continued as new, two workers racing) finds the stored item and
writes nothing. Inbox rows are not audited (they are the system talking to people, not
people changing things) and emit no events.
"""

from __future__ import annotations

import grpc
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from services.common.db import transaction
from services.common.errors import InvalidArgument, NotFound
from services.common.models import new_id, rfc3339, utcnow
from services.common.paging import next_page_token, page_window
from services.common.runtime import ServiceContext
from services.identity.inbox.models import InboxItem
from services.identity.models import Employee
from stride.common.v1 import common_pb2
from stride.identity.v1 import inbox_pb2 as pb
from stride.identity.v1 import inbox_pb2_grpc

MAX_KEY_LENGTH = 400
MAX_TEXT_LENGTH = 20_000


def item_pb(row: InboxItem) -> pb.InboxItem:
    return pb.InboxItem(
        id=row.id,
        recipient_id=row.recipient_id,
        key=row.key,
        template=row.template,
        title_zh=row.title_zh,
        title_en=row.title_en,
        body_zh=row.body_zh,
        body_en=row.body_en,
        link=row.link,
        created_at=rfc3339(row.created_at),
        read_at=rfc3339(row.read_at),
        emailed_at=rfc3339(row.emailed_at),
    )


def _not_found() -> NotFound:
    return NotFound("inbox_item_not_found", "inbox item not found")


def validate_delivery(request: pb.DeliverRequest) -> None:
    """Bad input for Deliver (pure)."""
    if not request.key.strip():
        raise InvalidArgument("key_required", "an idempotency key is required")
    if len(request.key) > MAX_KEY_LENGTH:
        raise InvalidArgument("key_too_long", f"key is longer than {MAX_KEY_LENGTH} characters")
    if not request.recipient_id:
        raise InvalidArgument("recipient_required", "recipient_id is required")
    if not (request.title_zh or request.title_en):
        raise InvalidArgument("title_required", "a title (zh or en) is required")
    texts = (request.title_zh, request.title_en, request.body_zh, request.body_en)
    if any(len(t) > MAX_TEXT_LENGTH for t in texts):
        raise InvalidArgument("text_too_long", "a title or body is too long")


class InboxServicer(inbox_pb2_grpc.InboxServiceServicer):
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def Deliver(
        self, request: pb.DeliverRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeliverResponse:
        validate_delivery(request)
        created = True
        try:
            async with transaction(self.ctx.sessions) as session:
                recipient = await session.get(Employee, request.recipient_id)
                if recipient is None:
                    raise InvalidArgument("unknown_recipient", "recipient not found")
                row = (
                    await session.execute(select(InboxItem).where(InboxItem.key == request.key))
                ).scalar_one_or_none()
                if row is None:
                    row = InboxItem(
                        id=new_id(),
                        key=request.key,
                        recipient_id=request.recipient_id,
                        template=request.template,
                        title_zh=request.title_zh,
                        title_en=request.title_en,
                        body_zh=request.body_zh,
                        body_en=request.body_en,
                        link=request.link,
                        created_at=utcnow(),
                    )
                    session.add(row)
                    await session.flush()
                else:
                    created = False
                item = item_pb(row)
                email = recipient.email or "" if recipient.status == "active" else ""
        except IntegrityError:
            # A concurrent delivery of the same key won the race: return its row.
            async with transaction(self.ctx.sessions) as session:
                row = (
                    await session.execute(select(InboxItem).where(InboxItem.key == request.key))
                ).scalar_one()
                recipient = await session.get(Employee, request.recipient_id)
                item = item_pb(row)
                email = recipient.email or "" if recipient and recipient.status == "active" else ""
            created = False
        if item.recipient_id != request.recipient_id:
            raise InvalidArgument("key_conflict", "the key was delivered to someone else")
        return pb.DeliverResponse(item=item, created=created, email=email, locale="")

    async def ListInbox(
        self, request: pb.ListInboxRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInboxResponse:
        if not request.recipient_id:
            raise InvalidArgument("recipient_required", "recipient_id is required")
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        mine = InboxItem.recipient_id == request.recipient_id
        async with self.ctx.sessions() as session:
            query = select(InboxItem).where(mine)
            if request.unread_only:
                query = query.where(InboxItem.read_at.is_(None))
            rows = (
                (
                    await session.execute(
                        query.order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
                        .limit(limit)
                        .offset(offset)
                    )
                )
                .scalars()
                .all()
            )
            unread = (
                await session.execute(select(func.count()).where(mine, InboxItem.read_at.is_(None)))
            ).scalar_one()
        return pb.ListInboxResponse(
            items=[item_pb(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, len(rows))),
            unread_count=int(unread),
        )

    async def MarkRead(
        self, request: pb.MarkReadRequest, context: grpc.aio.ServicerContext
    ) -> pb.InboxItem:
        async with transaction(self.ctx.sessions) as session:
            row = await session.get(InboxItem, request.id) if request.id else None
            if row is None or row.recipient_id != request.recipient_id:
                raise _not_found()
            if row.read_at is None:
                await session.execute(
                    update(InboxItem)
                    .where(InboxItem.id == row.id, InboxItem.read_at.is_(None))
                    .values(read_at=utcnow())
                )
                await session.refresh(row)
            return item_pb(row)

    async def MarkEmailed(
        self, request: pb.MarkEmailedRequest, context: grpc.aio.ServicerContext
    ) -> pb.InboxItem:
        async with transaction(self.ctx.sessions) as session:
            row = await session.get(InboxItem, request.id) if request.id else None
            if row is None:
                raise _not_found()
            if row.emailed_at is None:
                await session.execute(
                    update(InboxItem)
                    .where(InboxItem.id == row.id, InboxItem.emailed_at.is_(None))
                    .values(emailed_at=utcnow())
                )
                await session.refresh(row)
            return item_pb(row)
