"""Inbox persistence: items by key and by recipient, read and e-mailed marks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update

from services.common.models import utcnow
from services.identity.inbox.models import InboxItem
from services.identity.repository import IdentityRepository


class InboxRepository(IdentityRepository):
    async def item(self, item_id: str) -> InboxItem | None:
        return await self.session.get(InboxItem, item_id) if item_id else None

    async def by_key(self, key: str) -> InboxItem | None:
        query = select(InboxItem).where(InboxItem.key == key)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def items(
        self,
        recipient_id: str,
        *,
        unread_only: bool,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> list[InboxItem]:
        """A recipient's items, newest first; only those older than ``before`` (created at,
        id of the last item of the previous page) when given."""
        query = select(InboxItem).where(InboxItem.recipient_id == recipient_id)
        if unread_only:
            query = query.where(InboxItem.read_at.is_(None))
        if before is not None:
            at, item_id = before
            query = query.where(
                or_(
                    InboxItem.created_at < at,
                    and_(InboxItem.created_at == at, InboxItem.id < item_id),
                )
            )
        query = query.order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
        return list((await self.session.scalars(query.limit(limit))).all())

    async def unread_count(self, recipient_id: str) -> int:
        query = select(func.count()).where(
            InboxItem.recipient_id == recipient_id, InboxItem.read_at.is_(None)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def mark_read(self, row: InboxItem) -> None:
        """Set read_at once (a concurrent mark keeps the first time)."""
        await self.session.execute(
            update(InboxItem)
            .where(InboxItem.id == row.id, InboxItem.read_at.is_(None))
            .values(read_at=utcnow())
        )
        await self.session.refresh(row)

    async def mark_emailed(self, row: InboxItem) -> None:
        """Set emailed_at once (a concurrent mark keeps the first time)."""
        await self.session.execute(
            update(InboxItem)
            .where(InboxItem.id == row.id, InboxItem.emailed_at.is_(None))
            .values(emailed_at=utcnow())
        )
        await self.session.refresh(row)
