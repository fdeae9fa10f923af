"""The audit trail (HR, admin, API keys with audit:read): query with filters, verify the chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Response
from fastapi.responses import StreamingResponse

from gateway.convert import to_dict
from gateway.deps import Paging, RpcDep
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.audit import AuditEntry, AuditVerification
from gateway.schemas.common import Instant, Page
from gateway.security import Allow
from services.common.tables import XLSX_MEDIA_TYPE
from services.identity import audit_export
from stride.audit.v1 import audit_pb2 as pb

router = ResourceRouter(prefix="/audit", tags=["audit"], route_class=StrideRoute)

# Recomputing the whole chain takes longer than an ordinary call (seconds).
VERIFY_TIMEOUT = 120.0

Filter = Annotated[str, Query(max_length=200)]
Time = Annotated[Instant | None, Query(description="RFC 3339 with an offset")]


def _rfc3339(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@router.get(
    "",
    response_model=Page[AuditEntry],
    name="list_audit_entries",
    dependencies=[Allow("audit.list")],
    description="Newest first. from_time is inclusive, to_time exclusive.",
)
async def list_audit_entries(
    rpc: RpcDep,
    paging: Paging,
    actor: Filter = "",
    action: Filter = "",
    resource_type: Filter = "",
    resource_id: Filter = "",
    from_time: Time = None,
    to_time: Time = None,
) -> dict[str, Any]:
    msg = await rpc(
        rpc.audit.ListAuditEntries,
        pb.ListAuditEntriesRequest(
            page=paging.proto(),
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            from_time=_rfc3339(from_time),
            to_time=_rfc3339(to_time),
        ),
    )
    return page(msg, "entries")


@router.get(
    "/verify",
    response_model=AuditVerification,
    name="verify_audit_log",
    dependencies=[Allow("audit.verify")],
    description="Recomputes the hash chain; names the first row that was edited, removed or "
    "inserted.",
)
async def verify_audit_log(rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(rpc.audit.VerifyAuditLog, pb.VerifyAuditLogRequest(), timeout=VERIFY_TIMEOUT)
    return to_dict(msg)


# -- export -----------------------------------------------------------------------------------


@router.get(
    "/export",
    name="export_audit_entries",
    dependencies=[Allow("audit.export")],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
    description="The audit trail with the filters of GET /audit, oldest first, every column "
    "(including the hashes, so an export can be checked against the chain). CSV is streamed "
    "(UTF-8 with BOM, opens in Excel); XLSX is built in memory (up to ~1 million rows).",
)
async def export_audit_entries(
    rpc: RpcDep,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    actor: Filter = "",
    action: Filter = "",
    resource_type: Filter = "",
    resource_id: Filter = "",
    from_time: Time = None,
    to_time: Time = None,
) -> Response:
    request = pb.ListAuditEntriesRequest(
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        from_time=_rfc3339(from_time),
        to_time=_rfc3339(to_time),
    )

    async def call(query: pb.ListAuditEntriesRequest) -> pb.ListAuditEntriesResponse:
        return await rpc(rpc.audit.ListAuditEntries, query)

    pages = audit_export.pages(call, request)
    # The first page before answering: a bad filter or identity being down is still a
    # problem+json, not a broken download.
    first: list[Any] = await anext(pages, [])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Cache-Control": "no-store"}
    if format == "xlsx":
        xlsx = audit_export.XlsxExport()
        xlsx.add(first)
        async for page_ in pages:
            xlsx.add(page_)
        headers["Content-Disposition"] = f'attachment; filename="stride-audit-{stamp}.xlsx"'
        return Response(xlsx.bytes(), media_type=XLSX_MEDIA_TYPE, headers=headers)

    async def lines() -> AsyncIterator[str]:
        yield audit_export.csv_header()
        for page_ in (first,):
            yield "".join(audit_export.csv_line(audit_export.row(e)) for e in page_)
        async for page_ in pages:
            yield "".join(audit_export.csv_line(audit_export.row(e)) for e in page_)

    headers["Content-Disposition"] = f'attachment; filename="stride-audit-{stamp}.csv"'
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)
