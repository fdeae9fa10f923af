"""Transactional outbox and its relay to NATS JetStream.

A service writes the event row in the same transaction as the data it describes
(:func:`add_event`). The relay publishes unpublished rows in order with ``Nats-Msg-Id`` equal
to the event id and marks them published only after JetStream acknowledged them. A crash
between publish and mark republishes the row on restart; JetStream's duplicate window
(see services.common.nats.DUPLICATE_WINDOW_SECONDS) drops the copy, so every event reaches
the stream exactly once.

Published rows are kept ``outbox_keep_published_hours`` (7 days by default: what was sent
and when, for an operator looking into a delivery) and then deleted by the relay's process
(:meth:`OutboxRelay.prune`), so the table holds about a week of events, not every event ever.

(Over 400 lines on purpose: the table, the writer and the relay share one set of rules —
which rows count as published and in which order they go out — best read in one place.)
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common import metrics
from services.common.tasks import log_loop_failure, to_completion
from services.common.telemetry import suppress_instrumentation
from stride.common.v1 import common_pb2

log = structlog.get_logger(__name__)
_tracer = trace.get_tracer(__name__)

OUTBOX_TABLE = "outbox"
# Published rows deleted per transaction when the outbox is pruned (OutboxRelay.prune).
PRUNE_BATCH = 5_000


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
    """What the relay needs from JetStream (nats.js.JetStreamContext fits): ``publish_async``
    sends at once and returns a future of the stream's acknowledgement."""

    async def publish_async(
        self,
        subject: str,
        payload: bytes = b"",
        wait_stall: float | None = None,
        stream: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> asyncio.Future[Any]: ...


# Acknowledgements awaited at once, at most (the window doubles from 1 up to this).
DEFAULT_WINDOW = 256
# How long JetStream gets to acknowledge a message (nats-py's publish default).
ACK_TIMEOUT_SECONDS = 5.0


@dataclass
class _InFlight:
    id: int
    event_id: str
    subject: str
    span: trace.Span
    ack: asyncio.Future[Any]


class OutboxRelay:
    """Publishes outbox rows oldest first, at least once (so exactly once in the stream).

    Publishes are pipelined: a batch goes out in id order from one connection with up to
    ``window`` acknowledgements outstanding, and acknowledgements are taken in the same
    order. A row is marked published only when its own acknowledgement *and* those of every
    row before it in the batch arrived, so what is marked is always a prefix: the first
    failed (or timed out) acknowledgement stops the batch, and that row and every later one
    stay unpublished and go out again on the next attempt (JetStream drops the copies of those
    it had stored already: ``Nats-Msg-Id``). The stream therefore receives each key's events in
    the order they were written; only a stream that refused one message and stored a later
    one of the same window could see the refused one again after it.

    The window starts at one message and doubles with each acknowledgement up to ``window``,
    and falls back to one after a failure: a stream that is down costs one message per
    attempt, a healthy one is fully pipelined after a few acknowledgements and stays so from
    batch to batch.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        table: Table,
        js: Publisher,
        *,
        batch_size: int = 500,
        window: int = DEFAULT_WINDOW,
        poll_interval: float = 1.0,
        min_interval: float = 0.0,
        lock_rows: bool = False,
        after_publish: Callable[[str], Awaitable[None]] | None = None,
        service: str = "",
    ) -> None:
        self._sessions = sessions
        self._service = service  # the metrics' ``service`` attribute
        self._table = table
        self._js = js
        self._batch_size = batch_size
        self._window = max(1, window)
        self._open = 1  # the current window: acknowledgements that may be outstanding
        self._poll_interval = poll_interval
        # Woken again sooner than this after a pass: wait out the rest, so that a busy
        # service's commits share a pass instead of each paying a SELECT and an UPDATE.
        self._min_interval = min_interval
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
        async with self._sessions() as session, session.begin():
            rows = await self._fetch(session)
            done: list[int] = []
            failure = await self._publish(rows, done)
            # Mark what JetStream acknowledged, even when a later publish failed.
            await self._mark(session, done)
        if failure is not None:
            raise failure
        self.published += len(done)
        return len(done)

    async def drain(self) -> int:
        """Relay batches until the outbox is empty; how many rows were published.

        With row locks (PostgreSQL) the next batch is published while the previous one is
        being marked and committed: its rows are locked by that transaction, so ``SKIP
        LOCKED`` hands out the rows after them, and a batch that stopped at a failure is
        committed before anything later is read, so that nothing overtakes its unpublished
        rows. Without row locks (SQLite: one writer) batches go one after the other.
        """
        with suppress_instrumentation():
            if not self._lock_rows:
                total = 0
                while (n := await self._relay_once()) > 0:
                    total += n
                    if n < self._batch_size:
                        break
                return total
            return await self._drain_overlapped()

    async def _drain_overlapped(self) -> int:
        total = 0
        marking: asyncio.Task[int] | None = None
        try:
            while True:
                session = self._sessions()
                try:
                    await session.begin()
                    rows = await self._fetch(session)
                    done: list[int] = []
                    failure = await self._publish(rows, done)
                    if marking is not None:  # the previous batch: committed first
                        total += await asyncio.shield(marking)
                        marking = None
                except BaseException:
                    # Rolls back (nothing of this batch is marked), to the end even when
                    # cancelled again meanwhile.
                    await to_completion(session.close())
                    raise
                # Awaited only through a shield: a cancellation of the drain must not cancel
                # the marking, least of all before it starts (its session, in its transaction
                # with the batch's row locks, would then never be closed); the finally below
                # waits for it instead.
                marking = asyncio.create_task(self._mark_and_commit(session, done))
                if failure is not None:
                    total += await asyncio.shield(marking)
                    marking = None
                    raise failure
                if len(rows) < self._batch_size:
                    total += await asyncio.shield(marking)
                    marking = None
                    return total
        finally:
            if marking is not None:  # cancelled or failed meanwhile: the acked rows still count
                await to_completion(asyncio.wait([marking]))
                if not marking.cancelled() and marking.exception() is None:
                    total += marking.result()

    async def _mark_and_commit(self, session: AsyncSession, done: list[int]) -> int:
        try:
            await self._mark(session, done)
            await session.commit()
        finally:
            await to_completion(session.close())
        self.published += len(done)
        return len(done)

    async def _fetch(self, session: AsyncSession) -> Sequence[Any]:
        t = self._table
        query = (
            select(t.c.id, t.c.event_id, t.c.subject, t.c.payload, t.c.headers)
            .where(t.c.published_at.is_(None))
            .order_by(t.c.id)
            .limit(self._batch_size)
        )
        if self._lock_rows:
            query = query.with_for_update(skip_locked=True)
        return (await session.execute(query)).all()

    async def _mark(self, session: AsyncSession, done: list[int]) -> None:
        if done:
            t = self._table
            await session.execute(
                update(t).where(t.c.id.in_(done)).values(published_at=datetime.now(UTC))
            )

    async def _publish(self, rows: Sequence[Any], done: list[int]) -> Exception | None:
        """Publish ``rows`` in order, appending to ``done`` the ids acknowledged in order;
        the publish or acknowledgement failure that stopped it, if any."""
        in_flight: deque[_InFlight] = deque()
        failure: Exception | None = None
        try:
            for row in rows:
                while len(in_flight) >= self._open:
                    await self._settle(in_flight.popleft(), done)
                    self._open = min(self._open * 2, self._window)
                try:
                    in_flight.append(await self._send(row))
                except _PublishFailed as failed:  # what went out before may still be acked
                    failure = failed.error
                    break
            while in_flight:
                await self._settle(in_flight.popleft(), done)
        except _PublishFailed as failed:
            failure = failure or failed.error
        finally:
            if in_flight or failure is not None:  # stopped early: start small next time
                self._open = 1
            for sent in in_flight:  # after a failure: what follows is sent again next time
                sent.ack.cancel()
                sent.span.end()
        return failure

    async def _send(self, row: Any) -> _InFlight:
        # Continue the trace of the request that wrote the event (context stored with the
        # row) with a producer span ended at the acknowledgement, and hand it on in the
        # message headers.
        span = _tracer.start_span(
            f"{row.subject} publish",
            context=propagate.extract(json.loads(row.headers or "{}")),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": row.subject,
                "messaging.message.id": row.event_id,
            },
        )
        headers: dict[str, str] = {"Nats-Msg-Id": row.event_id}
        propagate.inject(headers, context=trace.set_span_in_context(span))
        try:
            ack = await self._js.publish_async(row.subject, row.payload, headers=headers)
        except Exception as exc:
            _failed(span, exc)
            raise _PublishFailed(exc) from exc
        return _InFlight(row.id, row.event_id, row.subject, span, ack)

    async def _settle(self, sent: _InFlight, done: list[int]) -> None:
        try:
            if sent.ack.done():  # usually, with a window of acks outstanding
                sent.ack.result()
            else:
                await asyncio.wait_for(sent.ack, ACK_TIMEOUT_SECONDS)
        except Exception as exc:
            _failed(sent.span, exc)
            raise _PublishFailed(exc) from exc
        sent.span.end()
        metrics.event_published(self._service, sent.subject)
        if self._after_publish is not None:
            await self._after_publish(sent.event_id)
        done.append(sent.id)

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

    async def prune(self, published_before: datetime, *, batch: int = PRUNE_BATCH) -> int:
        """Delete the rows published before ``published_before``, oldest first, ``batch`` per
        transaction (no long lock, no burst of WAL); how many were deleted. A published row
        is in the stream already (JetStream keeps the events, not the outbox), and a row
        not yet published is never deleted, however old."""
        t = self._table
        oldest = (
            select(t.c.id).where(t.c.published_at < published_before).order_by(t.c.id).limit(batch)
        )
        total = 0
        with suppress_instrumentation():
            while True:
                async with self._sessions() as session, session.begin():
                    result = await session.execute(
                        delete(t).where(t.c.id.in_(oldest.scalar_subquery()))
                    )
                deleted = int(getattr(result, "rowcount", 0) or 0)
                total += deleted
                if deleted < batch:
                    return total

    async def prune_forever(self, keep: timedelta, interval: float) -> None:
        """Every ``interval`` seconds, delete the rows published more than ``keep`` ago
        (settings ``outbox_keep_published_hours``); a failure is retried at the next pass."""
        while True:
            try:
                pruned = await self.prune(datetime.now(UTC) - keep)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log_loop_failure(log, "outbox prune failed; retrying", exc, service=self._service)
            else:
                if pruned:
                    log.info("outbox pruned", service=self._service, rows=pruned)
            await asyncio.sleep(interval)

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
        loop = asyncio.get_running_loop()
        while True:
            # Cleared before reading: a commit that wakes us while a drain runs is not missed.
            self._wake.clear()
            started = loop.time()
            try:
                await self.drain()
                delay = self._poll_interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS or database down: retry with backoff
                log.warning("outbox relay failed, retrying", error=str(exc), retry_in=delay)
                delay = min(delay * 2, 30.0)
                self._wake.clear()  # retry after the backoff, not at the next commit
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
            else:
                rest = started + self._min_interval - loop.time()
                if rest > 0:
                    await asyncio.sleep(rest)


class _PublishFailed(Exception):
    """JetStream did not take a message (``error``): the batch stops there."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _failed(span: trace.Span, exc: Exception) -> None:
    span.record_exception(exc)
    span.set_status(trace.Status(trace.StatusCode.ERROR))
    span.end()
