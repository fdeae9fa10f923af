"""The audit trail in the identity process: the chain appender (NATS consumer) and the API."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import structlog
from google.protobuf.message import DecodeError
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common import metrics
from services.common.audit import CURRENT_REQUEST, audit_subject
from services.common.db import transaction
from services.common.errors import DomainError, InvalidArgument
from services.common.nats import AUDIT_STREAM, num_delivered
from services.common.outbox import add_event, new_event_meta
from services.common.paging import next_page_token, page_window
from services.common.tasks import cancel_and_wait
from services.identity.audit_chain import Verdict, verify
from services.identity.audit_log import AuditRepository, chain_row, entry_pb
from services.identity.models import OUTBOX
from stride.audit.v1 import audit_pb2, audit_pb2_grpc
from stride.common.v1 import common_pb2

log = structlog.get_logger(__name__)

CONSUMER = "identity-audit"
SERVICE = "identity"
WORKFLOW_ACTOR_PREFIX = "workflow:"
_DECISION_NAMESPACE = uuid.UUID("5f0c8f0e-3b1a-4d7e-9a51-2b6f3c1d7a42")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")


async def verify_chain(sessions: async_sessionmaker[AsyncSession]) -> Verdict:
    async with sessions() as session:
        rows = [(chain_row(r), r.prev_hash, r.hash) async for r in AuditRepository(session).walk()]
    return verify(rows)


def decision_event_id(idempotency_key: str) -> str:
    """The event id of a recorded decision: the same key always gives the same id."""
    return str(uuid.uuid5(_DECISION_NAMESPACE, idempotency_key))


def check_decision(request: audit_pb2.RecordAuditEntryRequest, actor: str) -> None:
    """Only workflows record decisions, and only well-formed ones (pure)."""
    if not actor.startswith(WORKFLOW_ACTOR_PREFIX) or len(actor) == len(WORKFLOW_ACTOR_PREFIX):
        raise DomainError(
            "workflow_actor_required",
            "only a workflow (x-stride-actor workflow:<id>) records decisions",
            status=grpc.StatusCode.PERMISSION_DENIED,
        )
    for name, value, most in (
        ("idempotency_key", request.idempotency_key, 200),
        ("action", request.action, 100),
        ("resource_type", request.resource_type, 50),
        ("resource_id", request.resource_id, 200),
    ):
        if not value or len(value) > most:
            raise InvalidArgument(f"invalid_{name}", f"{name} needs 1..{most} characters")
    if len(request.detail) > 500:
        raise InvalidArgument("invalid_detail", "detail has at most 500 characters")
    if request.trace_id and not _TRACE_ID.fullmatch(request.trace_id):
        raise InvalidArgument("invalid_trace_id", "trace_id is 32 hex digits")


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.outbox_committed = outbox_committed

    async def ListAuditEntries(
        self, request: audit_pb2.ListAuditEntriesRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ListAuditEntriesResponse:
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        if request.oldest_first:
            offset = 0  # keyset paging through after_seq
        async with self.sessions() as session:
            rows = await AuditRepository(session).list(request, limit, offset)
        return audit_pb2.ListAuditEntriesResponse(
            entries=[entry_pb(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, len(rows))),
        )

    async def RecordAuditEntry(
        self, request: audit_pb2.RecordAuditEntryRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.RecordAuditEntryResponse:
        caller = CURRENT_REQUEST.get()
        check_decision(request, caller.actor)
        event_id = decision_event_id(request.idempotency_key)
        meta = new_event_meta(SERVICE)
        meta.event_id = event_id
        entry = audit_pb2.AuditEntry(
            occurred_at=meta.occurred_at,
            actor=caller.actor,
            action=request.action,
            resource_type=request.resource_type,
            resource_id=request.resource_id,
            request_id=caller.request_id,
            trace_id=request.trace_id,
            service=SERVICE,
            detail=request.detail,
        )
        try:
            async with transaction(self.sessions) as session:
                # Recorded before (a retried activity): in the outbox still, or in the chain.
                queued = await session.scalar(
                    select(OUTBOX.c.id).where(OUTBOX.c.event_id == event_id)
                )
                if queued is not None or await AuditRepository(session).has_event(event_id):
                    return audit_pb2.RecordAuditEntryResponse(event_id=event_id)
                await add_event(
                    session,
                    OUTBOX,
                    audit_subject(SERVICE),
                    audit_pb2.AuditRecorded(meta=meta, entry=entry),
                )
        except IntegrityError:  # the same key recorded concurrently: that one counts
            return audit_pb2.RecordAuditEntryResponse(event_id=event_id)
        self.outbox_committed()
        return audit_pb2.RecordAuditEntryResponse(event_id=event_id)

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
