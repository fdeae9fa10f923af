"""The audit trail (HR, admin, API keys with audit:read): query with filters, verify the chain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from gateway.convert import to_dict
from gateway.deps import Paging, RpcDep
from gateway.routers.common import page
from gateway.schemas import AuditEntry, AuditVerification, Page
from gateway.security import Allow
from stride.audit.v1 import audit_pb2 as pb

router = APIRouter(prefix="/audit", tags=["audit"])

# Recomputing the whole chain takes longer than an ordinary call (seconds).
VERIFY_TIMEOUT = 120.0

Filter = Annotated[str, Query(max_length=200)]
Time = Annotated[AwareDatetime | None, Query(description="RFC 3339 with an offset")]


def _rfc3339(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@router.get(
    "",
    response_model=Page[AuditEntry],
    name="list_audit_entries",
    dependencies=[Allow("audit.list")],
    description="Oldest first. from_time is inclusive, to_time exclusive.",
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
