"""The audit trail in the identity process: the chain appender (NATS consumer) and the API."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import grpc
import structlog
from google.protobuf.message import DecodeError
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common import metrics
from services.common.db import transaction
from services.common.nats import AUDIT_STREAM, num_delivered
from services.common.paging import next_page_token, page_window
from services.common.tasks import cancel_and_wait
from services.identity.audit_chain import Verdict, verify
from services.identity.audit_log import AuditRepository, chain_row, entry_pb
from stride.audit.v1 import audit_pb2, audit_pb2_grpc
from stride.common.v1 import common_pb2

log = structlog.get_logger(__name__)

CONSUMER = "identity-audit"


async def verify_chain(sessions: async_sessionmaker[AsyncSession]) -> Verdict:
    async with sessions() as session:
        rows = [(chain_row(r), r.prev_hash, r.hash) async for r in AuditRepository(session).walk()]
    return verify(rows)


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def ListAuditEntries(
        self, request: audit_pb2.ListAuditEntriesRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ListAuditEntriesResponse:
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        async with self.sessions() as session:
            rows = await AuditRepository(session).list(request, limit, offset)
        return audit_pb2.ListAuditEntriesResponse(
            entries=[entry_pb(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, len(rows))),
        )

    async def VerifyAuditLog(
        self, request: audit_pb2.VerifyAuditLogRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.VerifyAuditLogResponse:
        verdict = await verify_chain(self.sessions)
        return audit_pb2.VerifyAuditLogResponse(
            ok=verdict.ok,
            rows_checked=verdict.rows_checked,
            first_bad_seq=verdict.first_bad_seq,
            reason=verdict.reason,
        )


class AuditAppender:
    """Appends AuditRecorded events from JetStream to the chain; acks after commit."""

    def __init__(self, nc: NatsClient, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.nc = nc
        self.sessions = sessions
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="audit-appender")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._sub is not None:
            # Messages fetched but never handled would keep the connection's drain waiting.
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def run(self) -> None:
        js = self.nc.jetstream()
        sub = await js.pull_subscribe("stride.audit.v1.>", durable=CONSUMER, stream=AUDIT_STREAM)
        self._sub = sub
        while True:
            try:
                msgs = await sub.fetch(200, timeout=1)
            except (NatsTimeoutError, TimeoutError):
                continue
            events: list[audit_pb2.AuditRecorded] = []
            good = []
            for msg in msgs:
                try:
                    events.append(audit_pb2.AuditRecorded.FromString(msg.data))
                    good.append(msg)
                except DecodeError:
                    log.error("undecodable audit event dropped", subject=msg.subject)
                    await msg.term()
                    metrics.event_consumed(CONSUMER, msg.subject, "dropped", num_delivered(msg))
            try:
                async with transaction(self.sessions) as session:
                    await AuditRepository(session).append(events)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database down: redeliver later, nothing lost
                log.warning("audit append failed, will retry", error=str(exc))
                for msg in good:
                    await msg.nak(delay=2)
                    metrics.event_consumed(CONSUMER, msg.subject, "retry", num_delivered(msg))
                continue
            for msg in good:
                await msg.ack()
                metrics.event_consumed(CONSUMER, msg.subject, "appended", num_delivered(msg))
