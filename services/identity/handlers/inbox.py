"""The inbox: deliver a notification once per key, list, mark read or e-mailed.

Deliver is idempotent by key: the row is unique by key, so a second delivery (a retried
activity, a workflow that continued as new, two workers racing) finds the stored item and
writes nothing. A recipient out of the pilot (:mod:`services.common.pilot`) gets nothing:
the answer says ``out_of_pilot`` and no row is written. Inbox rows are not audited (they are
the system talking to people, not people changing things) and emit no events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from services.common.errors import InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.paging import after_window, next_after_token
from services.common.pilot import person_in_pilot
from services.common.uow import Units
from services.identity.handlers import reading
from services.identity.inbox.models import InboxItem
from services.identity.inbox.repository import InboxRepository
from services.identity.messages import inbox_item_pb
from services.identity.models import Employee
from stride.common.v1 import common_pb2
from stride.identity.v1 import inbox_pb2 as pb

MAX_KEY_LENGTH = 400
MAX_TEXT_LENGTH = 20_000


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


def _email(recipient: Employee | None) -> str:
    """Where to e-mail the item: nowhere for people who left."""
    return recipient.email or "" if recipient and recipient.status == "active" else ""


class Inbox:
    def __init__(self, units: Units[InboxRepository]) -> None:
        self.units = units

    async def deliver(self, request: pb.DeliverRequest) -> pb.DeliverResponse:
        validate_delivery(request)
        created = True
        try:
            async with self.units() as uow:
                repo = uow.repo
                recipient = await repo.get_employee(request.recipient_id)
                if recipient is None:
                    raise InvalidArgument("unknown_recipient", "recipient not found")
                if not person_in_pilot(recipient.department_id, await repo.pilot_departments()):
                    # Out of the pilot: Stride tells them nothing (see services.common.pilot).
                    return pb.DeliverResponse(out_of_pilot=True)
                row = await repo.by_key(request.key)
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
                    repo.add(row)
                    await repo.flush()
                else:
                    created = False
                item = inbox_item_pb(row)
                email, locale = _email(recipient), recipient.locale
        except IntegrityError:
            # A concurrent delivery of the same key won the race: return its row.
            async with reading(self.units) as repo:
                stored = await repo.by_key(request.key)
                if stored is None:
                    raise
                item = inbox_item_pb(stored)
                person = await repo.get_employee(request.recipient_id)
                email, locale = _email(person), person.locale if person else ""
            created = False
        if item.recipient_id != request.recipient_id:
            raise InvalidArgument("key_conflict", "the key was delivered to someone else")
        return pb.DeliverResponse(item=item, created=created, email=email, locale=locale)

    async def page(
        self, recipient_id: str, *, unread_only: bool, page: common_pb2.PageRequest
    ) -> pb.ListInboxResponse:
        """A page of a recipient's items (newest first) and how many of all are unread."""
        if not recipient_id:
            raise InvalidArgument("recipient_required", "recipient_id is required")
        # Keyset pages: a notification delivered (or one read, in the unread view) while
        # someone pages neither repeats an item nor hides one, as an offset would.
        limit, key = after_window(page.page_size, page.page_token)
        async with reading(self.units) as repo:
            rows = await repo.items(
                recipient_id, unread_only=unread_only, limit=limit, before=_position(key)
            )
            unread = await repo.unread_count(recipient_id)
        last = f"{rows[-1].created_at.isoformat()}|{rows[-1].id}" if len(rows) == limit else ""
        return pb.ListInboxResponse(
            items=[inbox_item_pb(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=next_after_token(last)),
            unread_count=unread,
        )

    async def mark_read(self, item_id: str, recipient_id: str) -> pb.InboxItem:
        async with self.units() as uow:
            row = await uow.repo.item(item_id)
            if row is None or row.recipient_id != recipient_id:
                raise _not_found()
            if row.read_at is None:
                await uow.repo.mark_read(row)
            return inbox_item_pb(row)

    async def mark_emailed(self, item_id: str) -> pb.InboxItem:
        async with self.units() as uow:
            row = await uow.repo.item(item_id)
            if row is None:
                raise _not_found()
            if row.emailed_at is None:
                await uow.repo.mark_emailed(row)
            return inbox_item_pb(row)


def _position(key: str) -> tuple[datetime, str] | None:
    """The (created at, id) a page token of :meth:`Inbox.page` names; None for the first."""
    if not key:
        return None
    at, _, item_id = key.partition("|")
    try:
        return datetime.fromisoformat(at), item_id
    except ValueError as exc:
        raise InvalidArgument("invalid_page_token", "page_token is not valid") from exc
