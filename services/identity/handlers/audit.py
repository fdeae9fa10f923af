"""The audit trail: decisions workflows record, the hash chain (append, read, verify).

Every service queues its audit entries in its own outbox (``services.common.audit``); the
chain appender (``services.identity.audit_appender``) hands them to :meth:`AuditTrail.append`,
which links them into identity's hash chain. Workflows record decisions through
:meth:`AuditTrail.record_decision`, which queues them like any identity entry.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from services.common.outbox import new_event_meta
from services.common.request_context import CURRENT_REQUEST
from services.common.uow import Units
from services.identity.audit_chain import Verdict, verify
from services.identity.audit_log import AuditRepository, chain_row, entry_pb
from services.identity.domain import check_decision, decision_event_id
from services.identity.handlers import reading
from stride.audit.v1 import audit_pb2

SERVICE = "identity"


class AuditTrail:
    def __init__(self, units: Units[AuditRepository]) -> None:
        self.units = units

    async def page(
        self, request: audit_pb2.ListAuditEntriesRequest, limit: int, before_seq: int
    ) -> list[audit_pb2.AuditEntry]:
        async with reading(self.units) as repo:
            return [entry_pb(r) for r in await repo.list(request, limit, before_seq)]

    async def record_decision(self, request: audit_pb2.RecordAuditEntryRequest) -> str:
        """Queue a workflow's decision once per idempotency key; returns its event id."""
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
            async with self.units() as uow:
                # Recorded before (a retried activity): in the outbox still, or in the chain.
                if not (await uow.repo.queued(event_id) or await uow.repo.has_event(event_id)):
                    await uow.emit(audit_pb2.AuditRecorded(meta=meta, entry=entry))
        except IntegrityError:  # the same key recorded concurrently: that one counts
            pass
        return event_id

    async def verify(self) -> Verdict:
        async with reading(self.units) as repo:
            rows = [(chain_row(r), r.prev_hash, r.hash) async for r in repo.walk()]
        return verify(rows)

    async def append(self, events: list[audit_pb2.AuditRecorded]) -> int:
        """Link the audit events of every service into the chain (idempotent by event id)."""
        async with self.units() as uow:
            return await uow.repo.append(events)
