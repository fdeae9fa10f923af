"""Transactional outbox and its relay to NATS JetStream.

A service writes the event row in the same transaction as the data it describes
(:func:`add_event`). The relay publishes unpublished rows in order with ``Nats-Msg-Id`` equal
to the event id and marks them published only after JetStream acknowledged them. A crash
between publish and mark republishes the row on restart; JetStream's duplicate window
(see services.common.nats.DUPLICATE_WINDOW_SECONDS) drops the copy, so every event reaches
the stream exactly once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from google.protobuf.message import Message
from opentelemetry import propagate, trace
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common import metrics
from services.common.telemetry import suppress_instrumentation
from stride.common.v1 import common_pb2

log = structlog.get_logger(__name__)
_tracer = trace.get_tracer(__name__)

OUTBOX_TABLE = "outbox"


def _outbox_columns() -> list[Column[Any]]:
    return [
        Column(
            "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("subject", String(255), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", Text, nullable=False, default="{}"),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
    ]


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table in a service's metadata (each service has its own)."""
    return Table(
        OUTBOX_TABLE,
        metadata,
        *_outbox_columns(),
        Index("ix_outbox_unpublished", "published_at", "id"),
    )


def create_outbox_table(op: Any) -> None:
    """For a service's first Alembic migration: ``create_outbox_table(op)``."""
    op.create_table(OUTBOX_TABLE, *_outbox_columns())
    op.create_index("ix_outbox_unpublished", OUTBOX_TABLE, ["published_at", "id"])


def new_event_meta(producer: str) -> common_pb2.EventMeta:
    return common_pb2.EventMeta(
        event_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        producer=producer,
    )


def event_row(subject: str, message: Message) -> dict[str, Any]:
    """The outbox row of ``message`` (which has a ``meta`` EventMeta field) on ``subject``,
    with the current trace context so consumers continue the same trace."""
    meta: common_pb2.EventMeta = message.meta  # type: ignore[attr-defined]
    if not meta.event_id:
        raise ValueError("event meta.event_id must be set (use new_event_meta)")
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return {
        "event_id": meta.event_id,
        "subject": subject,
        "payload": message.SerializeToString(),
        "headers": json.dumps(headers),
    }


async def add_event(session: AsyncSession, table: Table, subject: str, message: Message) -> str:
    """Queue ``message`` (which has a ``meta`` EventMeta field) for ``subject``.

    Call inside the transaction that writes the data the event describes. The current trace
    context is stored with it so consumers continue the same trace.
    """
    row = event_row(subject, message)
    await session.execute(table.insert().values(**row))
    return str(row["event_id"])


class Publisher(Protocol):
    """What the relay needs from JetStream (nats.js.JetStreamContext fits)."""

    async def publish(
        self,
        subject: str,
        payload: bytes = b"",
        timeout: float | None = None,
        stream: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> Any: ...


class OutboxRelay:
    """Publishes outbox rows oldest first, at least once (so exactly once in the stream)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        table: Table,
        js: Publisher,
        *,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        lock_rows: bool = False,
        after_publish: Callable[[str], Awaitable[None]] | None = None,
        service: str = "",
    ) -> None:
        self._sessions = sessions
        self._service = service  # the metrics' ``service`` attribute
        self._table = table
        self._js = js
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        # PostgreSQL: FOR UPDATE SKIP LOCKED so several relays never publish the same batch.
        self._lock_rows = lock_rows
        self._after_publish = after_publish  # test hook: runs after each ack, before marking
        self._wake = asyncio.Event()
        self.published = 0

    def wake(self) -> None:
        """Called after a commit that added events, so they go out without waiting for a poll."""
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish one batch. Returns how many rows were published and marked."""
        # Polling makes no database spans (a trace per second per service otherwise); the
        # publish spans below continue the traces of the requests that wrote the events.
        with suppress_instrumentation():
            return await self._relay_once()

    async def _relay_once(self) -> int:
        t = self._table
        async with self._sessions() as session, session.begin():
            query = (
                select(t.c.id, t.c.event_id, t.c.subject, t.c.payload, t.c.headers)
                .where(t.c.published_at.is_(None))
                .order_by(t.c.id)
                .limit(self._batch_size)
            )
            if self._lock_rows:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            done: list[int] = []
            failure: Exception | None = None
            for row in rows:
                # Continue the trace of the request that wrote the event (context stored
                # with the row) with a producer span, and hand it on in the message headers.
                parent = propagate.extract(json.loads(row.headers or "{}"))
                with _tracer.start_as_current_span(
                    f"{row.subject} publish",
                    context=parent,
                    kind=trace.SpanKind.PRODUCER,
                    attributes={
                        "messaging.system": "nats",
                        "messaging.destination.name": row.subject,
                        "messaging.message.id": row.event_id,
                    },
                ) as span:
                    headers: dict[str, str] = {"Nats-Msg-Id": row.event_id}
                    propagate.inject(headers)
                    try:
                        await self._js.publish(row.subject, row.payload, headers=headers)
                    except Exception as exc:
                        span.record_exception(exc)
                        span.set_status(trace.Status(trace.StatusCode.ERROR))
                        failure = exc
                        break
                metrics.event_published(self._service, row.subject)
                if self._after_publish is not None:
                    await self._after_publish(row.event_id)
                done.append(row.id)
            # Mark what JetStream acknowledged, even when a later publish failed.
            if done:
                await session.execute(
                    update(t).where(t.c.id.in_(done)).values(published_at=datetime.now(UTC))
                )
        if failure is not None:
            raise failure
        self.published += len(done)
        return len(done)

    async def backlog(self) -> int:
        return (await self.pending())[0]

    async def pending(self) -> tuple[int, datetime | None]:
        """(unpublished rows, created_at of the oldest): one query on the unpublished index."""
        t = self._table
        with suppress_instrumentation():
            async with self._sessions() as session:
                row = (
                    await session.execute(
                        select(func.count(), func.min(t.c.created_at)).where(
                            t.c.published_at.is_(None)
                        )
                    )
                ).one()
        return int(row[0] or 0), row[1]

    async def poll_metrics(self, interval: float) -> None:
        """Feed the outbox backlog / age gauges every ``interval`` seconds until cancelled."""
        try:
            while True:
                try:
                    count, oldest = await self.pending()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # database down: the age gauge keeps growing
                    log.debug("outbox metrics poll failed", error=str(exc))
                else:
                    metrics.outbox_polled(self._service, count, oldest)
                await asyncio.sleep(interval)
        finally:
            metrics.outbox_forget(self._service)

    async def run(self) -> None:
        """Relay until cancelled; transient failures back off and retry, nothing is dropped."""
        delay = self._poll_interval
        while True:
            try:
                n = await self.relay_once()
                delay = self._poll_interval
                if n == self._batch_size:
                    continue  # more waiting
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS or database down: retry with backoff
                log.warning("outbox relay failed, retrying", error=str(exc), retry_in=delay)
                delay = min(delay * 2, 30.0)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
