"""Workflow decisions reach the hash-chained trail through identity (RecordAuditEntry and the
record_decision activity): once per step however often the activity is retried, as the
workflow, with the trace id; only workflows may record them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import grpc
import pytest
from temporalio.testing import ActivityEnvironment

from activities.audit import AuditActivities
from services.common.request_context import ACTOR_KEY
from services.common.settings import WorkerSettings
from services.identity import server as identity_server
from stride.audit.v1 import audit_pb2, audit_pb2_grpc
from tests.integration.services_fixtures import running, service_settings
from workflows.audit import Decision
from workflows.kr_escalation import ACTION_LEVEL_CHANGED


async def entries(stub: audit_pb2_grpc.AuditServiceStub, actor: str) -> list[audit_pb2.AuditEntry]:
    page = await stub.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(actor=actor))
    return list(page.entries)


async def test_a_retried_decision_is_recorded_once(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    prefix = f"d{uuid.uuid4().hex[:8]}_"
    rt = identity_server.runtime(
        service_settings(database_url, data_dir, nats_url, schema_prefix=prefix)
    )
    async with running(rt) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        activities = AuditActivities(WorkerSettings(identity_addr=f"127.0.0.1:{rt.port}"))
        env = ActivityEnvironment()
        wid = f"kr-escalation/kr-{uuid.uuid4().hex[:8]}"
        env.info = env.info.__class__(
            **{**env.info.__dict__, "workflow_id": wid, "workflow_run_id": "run-1"}
        )
        decision = Decision(
            step="level-2",
            action=ACTION_LEVEL_CHANGED,
            resource_type="key_result",
            resource_id=wid.removeprefix("kr-escalation/"),
            detail="level warning -> red (at risk in 2026-W48, check-in c-1)",
        )
        first = await env.run(activities.record_decision, decision)
        # The worker died before reporting: Temporal runs the activity again.
        second = await env.run(activities.record_decision, decision)
        assert first == second
        # Another step is another entry.
        await env.run(
            activities.record_decision,
            Decision("closed", "worker.kr_escalation.closed", "key_result", "kr", "resolved"),
        )

        actor = f"workflow:{wid}"
        for _ in range(100):
            got = await entries(stub, actor)
            if len(got) >= 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # a duplicate would have arrived by now
        got = await entries(stub, actor)
        assert sorted(e.action for e in got) == [
            "worker.kr_escalation.closed",
            ACTION_LEVEL_CHANGED,
        ]
        level = next(e for e in got if e.action == ACTION_LEVEL_CHANGED)
        assert level.detail == decision.detail and level.resource_id == decision.resource_id
        assert level.service == "identity" and level.hash and level.prev_hash
        assert (await stub.VerifyAuditLog(audit_pb2.VerifyAuditLogRequest())).ok

        # Only a workflow records decisions; malformed ones are refused.
        request = audit_pb2.RecordAuditEntryRequest(
            idempotency_key="k", action="a", resource_type="t", resource_id="r"
        )
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.RecordAuditEntry(request, metadata=((ACTOR_KEY, "emp-1"),))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        request.trace_id = "not-a-trace"
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await stub.RecordAuditEntry(request, metadata=((ACTOR_KEY, "workflow:x"),))
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
