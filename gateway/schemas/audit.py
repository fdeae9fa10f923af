"""The audit trail and its verification: the bodies of /audit."""

from __future__ import annotations

from gateway.schemas.common import ResponseModel


class AuditEntry(ResponseModel):
    seq: int
    occurred_at: str
    actor: str
    action: str
    resource_type: str
    resource_id: str
    request_id: str
    trace_id: str
    before_digest: str
    after_digest: str
    service: str
    prev_hash: str
    hash: str
    detail: str = ""


class AuditVerification(ResponseModel):
    ok: bool
    rows_checked: int
    first_bad_seq: int
    reason: str
