"""AuditService: read and verify the hash chain, record workflows' decisions."""

from __future__ import annotations

import grpc

from services.common.errors import InvalidArgument
from services.common.paging import after_window, next_after_token
from services.identity.handlers.audit import AuditTrail
from stride.audit.v1 import audit_pb2 as pb
from stride.audit.v1 import audit_pb2_grpc
from stride.common.v1 import common_pb2


def before_seq(key: str) -> int:
    """The seq a newest-first page starts before (0: the newest); only what the servicer's
    tokens carry (ASCII digits) is accepted."""
    if not key:
        return 0
    if not (key.isascii() and key.isdigit() and len(key) <= 18):
        raise InvalidArgument("invalid_page_token", "page_token is not valid")
    return int(key)


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    async def ListAuditEntries(
        self, request: pb.ListAuditEntriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuditEntriesResponse:
        # Keyset pages both ways: oldest first through after_seq (page_token ignored), newest
        # first before the seq the token names, so entries appended while someone pages
        # neither repeat nor push others out of reach (offsets would shift under appends).
        token = "" if request.oldest_first else request.page.page_token
        limit, key = after_window(request.page.page_size, token)
        entries = await self.trail.page(request, limit, before_seq(key))
        last = str(entries[-1].seq) if len(entries) == limit else ""
        return pb.ListAuditEntriesResponse(
            entries=entries, page=common_pb2.PageResponse(next_page_token=next_after_token(last))
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
