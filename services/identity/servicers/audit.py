"""AuditService: read and verify the hash chain, record workflows' decisions."""

from __future__ import annotations

import grpc

from services.common.paging import next_page_token, page_window
from services.identity.handlers.audit import AuditTrail
from stride.audit.v1 import audit_pb2 as pb
from stride.audit.v1 import audit_pb2_grpc
from stride.common.v1 import common_pb2


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    async def ListAuditEntries(
        self, request: pb.ListAuditEntriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuditEntriesResponse:
        limit, offset = page_window(request.page.page_size, request.page.page_token)
        if request.oldest_first:
            offset = 0  # keyset paging through after_seq
        entries = await self.trail.page(request, limit, offset)
        return pb.ListAuditEntriesResponse(
            entries=entries,
            page=common_pb2.PageResponse(
                next_page_token=next_page_token(offset, limit, len(entries))
            ),
        )

    async def RecordAuditEntry(
        self, request: pb.RecordAuditEntryRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordAuditEntryResponse:
        return pb.RecordAuditEntryResponse(event_id=await self.trail.record_decision(request))

    async def VerifyAuditLog(
        self, request: pb.VerifyAuditLogRequest, context: grpc.aio.ServicerContext
    ) -> pb.VerifyAuditLogResponse:
        verdict = await self.trail.verify()
        return pb.VerifyAuditLogResponse(
            ok=verdict.ok,
            rows_checked=verdict.rows_checked,
            first_bad_seq=verdict.first_bad_seq,
            reason=verdict.reason,
        )
