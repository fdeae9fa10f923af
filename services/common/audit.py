"""Writing the audit trail from any service.

Who is acting travels with each gRPC call as metadata (``x-stride-actor``, ``x-request-id``,
set by the gateway or the worker); the gRPC bootstrap puts it in :data:`CURRENT_REQUEST`
(services/common/request_context.py).
A handler calls ``uow.audit(...)`` (services/common/uow.py) inside the unit of work that
makes the change: the entry goes to the service's outbox as an ``AuditRecorded`` event, so the
change and its audit record commit together or not at all. The identity service appends
those events to the hash chain (services/identity/audit_appender.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry import trace

from services.common.outbox import new_event_meta
from services.common.request_context import CURRENT_REQUEST
from stride.audit.v1 import audit_pb2

__all__ = ["Recorder", "audit_subject", "digest"]


def digest(message: Message | None) -> str:
    """SHA-256 of the canonical JSON of a message ("" for None)."""
    if message is None:
        return ""
    canonical = json_format.MessageToJson(
        message, sort_keys=True, indent=None, preserving_proto_field_name=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def audit_subject(service: str) -> str:
    return f"stride.audit.v1.{service}.recorded"


def recorded(
    service: str,
    action: str,
    resource_type: str,
    resource_id: str,
    before: Message | None = None,
    after: Message | None = None,
    detail: str = "",
) -> audit_pb2.AuditRecorded:
    """The audit event of a change made now, by the caller of the current request."""
    request = CURRENT_REQUEST.get()
    span = trace.get_current_span().get_span_context()
    meta = new_event_meta(service)
    entry = audit_pb2.AuditEntry(
        occurred_at=meta.occurred_at,
        actor=request.actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        request_id=request.request_id,
        trace_id=format(span.trace_id, "032x") if span.is_valid else "",
        before_digest=digest(before),
        after_digest=digest(after),
        service=service,
        detail=detail[:500],
    )
    return audit_pb2.AuditRecorded(meta=meta, entry=entry)


@dataclass(frozen=True)
class Recorder:
    """Audit events of one service (its name prefixes every action)."""

    service: str

    def entry(
        self,
        action: str,
        resource_type: str,
        resource_id: str,
        before: Message | None = None,
        after: Message | None = None,
        detail: str = "",
    ) -> audit_pb2.AuditRecorded:
        """The audit event of ``<service>.<action>`` (for a caller that writes it itself)."""
        action = f"{self.service}.{action}"
        return recorded(self.service, action, resource_type, resource_id, before, after, detail)
