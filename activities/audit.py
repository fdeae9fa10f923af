"""``record_decision``: put a workflow's decision into the hash-chained audit trail.

Calls identity's ``AuditService.RecordAuditEntry`` with the actor ``workflow:<workflow id>``
(taken from the activity's own info, not from its input), the trace of the workflow (the
Temporal tracing interceptor makes the activity's span a child of the workflow's trace) and
the idempotency key ``<workflow id>/<run id>/<step>``: identity writes the entry through its
outbox with an event id derived from that key, so a retried activity records it once.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
from opentelemetry import trace
from temporalio import activity

from activities.clients import channel, to_application_error
from services.common.request_context import ACTOR_KEY, REQUEST_ID_KEY
from services.common.settings import WorkerSettings
from stride.audit.v1 import audit_pb2, audit_pb2_grpc
from workflows.audit import RECORD_DECISION_ACTIVITY, Decision


def current_trace_id() -> str:
    span = trace.get_current_span().get_span_context()
    return format(span.trace_id, "032x") if span.is_valid else ""


def decision_request(
    decision: Decision, workflow_id: str, run_id: str, trace_id: str
) -> audit_pb2.RecordAuditEntryRequest:
    return audit_pb2.RecordAuditEntryRequest(
        idempotency_key=f"{workflow_id}/{run_id}/{decision.step}"[:200],
        action=decision.action,
        resource_type=decision.resource_type,
        resource_id=decision.resource_id,
        detail=decision.detail[:500],
        trace_id=trace_id,
    )


class AuditActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    def all(self) -> list[Callable[..., object]]:
        return [self.record_decision]

    @activity.defn(name=RECORD_DECISION_ACTIVITY)
    async def record_decision(self, decision: Decision) -> str:
        info = activity.info()
        workflow_id = info.workflow_id or ""
        run_id = info.workflow_run_id or ""
        request = decision_request(decision, workflow_id, run_id, current_trace_id())
        metadata = (
            (ACTOR_KEY, f"workflow:{workflow_id}"),
            (REQUEST_ID_KEY, f"{run_id}/{info.activity_id}"),
        )
        async with channel(self.settings.identity_addr) as ch:
            stub = audit_pb2_grpc.AuditServiceStub(ch)
            try:
                done = await stub.RecordAuditEntry(request, timeout=20, metadata=metadata)
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, "AuditDecisionRefused") from err
        return str(done.event_id)
