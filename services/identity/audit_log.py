"""Audit log table and its persistence (append at the head of the chain, query, walk)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, Select, String, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.identity.audit_chain import GENESIS, ChainRow, row_hash
from services.identity.models import OUTBOX, Base
from stride.audit.v1 import audit_pb2

# Serialises appends across identity replicas (PostgreSQL); SQLite has a single writer.
_APPEND_LOCK = 0x5374726964650002


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_resource", "resource_type", "resource_id"),
        Index("ix_audit_log_actor", "actor"),
        Index("ix_audit_log_occurred", "occurred_at"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    event_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    occurred_at_text: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(50), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(200), nullable=False)
    request_id: Mapped[str] = mapped_column(String(100), nullable=False)
    trace_id: Mapped[str] = mapped_column(String(32), nullable=False)
    before_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    after_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    service: Mapped[str] = mapped_column(String(50), nullable=False)
    detail: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


def chain_row(row: AuditLog) -> ChainRow:
    return ChainRow(
        seq=row.seq,
        event_id=row.event_id,
        occurred_at=row.occurred_at_text,
        actor=row.actor,
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        request_id=row.request_id,
        trace_id=row.trace_id,
        before_digest=row.before_digest,
        after_digest=row.after_digest,
        service=row.service,
        detail=row.detail,
    )


def entry_pb(row: AuditLog) -> audit_pb2.AuditEntry:
    return audit_pb2.AuditEntry(
        seq=row.seq,
        occurred_at=row.occurred_at_text,
        actor=row.actor,
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        request_id=row.request_id,
        trace_id=row.trace_id,
        before_digest=row.before_digest,
        after_digest=row.after_digest,
        service=row.service,
        prev_hash=row.prev_hash,
        hash=row.hash,
        detail=row.detail,
    )


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, events: list[audit_pb2.AuditRecorded]) -> int:
        """Append events not yet in the chain (idempotent by event id); returns how many."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK}
            )
        ids = [e.meta.event_id for e in events]
        known = set(
            await self.session.scalars(select(AuditLog.event_id).where(AuditLog.event_id.in_(ids)))
        )
        head = (
            await self.session.execute(
                select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
            )
        ).first()
        seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
        added = 0
        for event in events:
            if event.meta.event_id in known:
                continue
            known.add(event.meta.event_id)
            e = event.entry
            seq += 1
            row = AuditLog(
                seq=seq,
                event_id=event.meta.event_id,
                occurred_at=datetime.fromisoformat(e.occurred_at.replace("Z", "+00:00")),
                occurred_at_text=e.occurred_at,
                actor=e.actor,
                action=e.action,
                resource_type=e.resource_type,
                resource_id=e.resource_id,
                request_id=e.request_id,
                trace_id=e.trace_id,
                before_digest=e.before_digest,
                after_digest=e.after_digest,
                service=e.service,
                detail=e.detail[:500],
                prev_hash=prev,
                hash="",
            )
            row.hash = row_hash(prev, chain_row(row))
            prev = row.hash
            self.session.add(row)
            added += 1
        return added

    async def list(
        self, request: audit_pb2.ListAuditEntriesRequest, limit: int, before_seq: int = 0
    ) -> list[AuditLog]:
        """A keyset page: oldest first after ``request.after_seq``, or newest first before
        ``before_seq`` (0: from the newest). Rows appended meanwhile cannot shift a page."""
        if request.oldest_first:
            query = select(AuditLog).order_by(AuditLog.seq).where(AuditLog.seq > request.after_seq)
        else:
            query = select(AuditLog).order_by(AuditLog.seq.desc())
            if before_seq:
                query = query.where(AuditLog.seq < before_seq)
        query = filtered(query, request)
        return list((await self.session.scalars(query.limit(limit))).all())

    async def queued(self, event_id: str) -> bool:
        """Whether an audit event is still in identity's outbox (not yet relayed)."""
        found = await self.session.scalar(select(OUTBOX.c.id).where(OUTBOX.c.event_id == event_id))
        return found is not None

    async def has_event(self, event_id: str) -> bool:
        found = await self.session.scalar(select(AuditLog.seq).where(AuditLog.event_id == event_id))
        return found is not None

    async def walk(self, batch: int = 2000) -> AsyncIterator[AuditLog]:
        """Every row in seq order, in batches (the chain can be long)."""
        last = 0
        while True:
            rows = (
                await self.session.scalars(
                    select(AuditLog).where(AuditLog.seq > last).order_by(AuditLog.seq).limit(batch)
                )
            ).all()
            if not rows:
                return
            for row in rows:
                yield row
            last = rows[-1].seq

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(AuditLog)) or 0)


def filtered(
    query: Select[AuditLog], request: audit_pb2.ListAuditEntriesRequest
) -> Select[AuditLog]:
    """``query`` narrowed by the request's filters (exact actor/action/resource, time range)."""
    if request.actor:
        query = query.where(AuditLog.actor == request.actor)
    if request.action:
        query = query.where(AuditLog.action == request.action)
    if request.resource_type:
        query = query.where(AuditLog.resource_type == request.resource_type)
    if request.resource_id:
        query = query.where(AuditLog.resource_id == request.resource_id)
    if request.from_time:
        query = query.where(AuditLog.occurred_at >= _time(request.from_time))
    if request.to_time:
        query = query.where(AuditLog.occurred_at < _time(request.to_time))
    return query


def _time(value: str) -> datetime:
    from services.common.errors import InvalidArgument

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidArgument("invalid_time", f"{value!r} is not an RFC 3339 time") from exc
