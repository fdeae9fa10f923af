"""Audit trail: changes are recorded with who/what/request, chained, and tampering is caught."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from services.cli.audit import audit_app
from services.common import db
from services.common.settings import StrideSettings
from services.goals import server as goals_server
from services.identity import server as identity_server
from stride.audit.v1 import audit_pb2, audit_pb2_grpc
from stride.goals.v1 import goals_pb2 as gpb
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2 as pb
from stride.identity.v1 import identity_pb2_grpc
from tests.integration.services_fixtures import running, service_settings


async def wait_for_entries(audit, count: int, **filters: str) -> list[audit_pb2.AuditEntry]:
    for _ in range(100):
        page = await audit.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(**filters))
        if len(page.entries) >= count:
            return list(page.entries)
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} audit entries for {filters}")


async def test_changes_are_chained_and_tampering_is_named(
    database_url: str | None, data_dir: Path, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Own schemas: the chain is checked from its first row.
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    identity_rt = identity_server.runtime(
        service_settings(database_url, data_dir, nats_url, schema_prefix=prefix)
    )
    async with running(identity_rt) as ich:
        goals_rt = goals_server.runtime(
            service_settings(
                database_url,
                data_dir,
                nats_url,
                identity_addr=f"127.0.0.1:{identity_rt.port}",
                schema_prefix=prefix,
            )
        )
        async with running(goals_rt) as gch:
            goals = goals_pb2_grpc.GoalsServiceStub(gch)
            audit = audit_pb2_grpc.AuditServiceStub(ich)
            actor = f"emp-{uuid.uuid4().hex[:8]}"
            md = (("x-stride-actor", actor), ("x-request-id", "req-42"))
            cycle = await goals.CreateCycle(
                gpb.CreateCycleRequest(name="Q1", start_date="2026-01-01", end_date="2026-03-31"),
                metadata=md,
            )
            await goals.CloseCycle(gpb.CloseCycleRequest(id=cycle.id), metadata=md)

            entries = await wait_for_entries(audit, 2, actor=actor)
            assert [e.action for e in entries] == ["goals.cycle.close", "goals.cycle.create"]
            close, create = entries
            assert close.resource_id == cycle.id and close.request_id == "req-42"
            assert close.before_digest == create.after_digest  # same state in between
            assert close.prev_hash and close.hash and close.seq > create.seq
            assert (await audit.VerifyAuditLog(audit_pb2.VerifyAuditLogRequest())).ok

            monkeypatch.setenv("STRIDE_IDENTITY_ADDR", f"127.0.0.1:{identity_rt.port}")
            runner = CliRunner()
            ok = await asyncio.to_thread(runner.invoke, audit_app, ["verify"])
            assert ok.exit_code == 0, ok.output
            assert "intact" in ok.output

            # Someone edits a row directly in the database.
            engine = db.create_engine(
                StrideSettings(database_url=database_url, data_dir=data_dir, schema_prefix=prefix),
                "identity",
            )
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE audit_log SET actor = 'nobody' WHERE seq = :s"),
                    {"s": create.seq},
                )
            await engine.dispose()
            verdict = await audit.VerifyAuditLog(audit_pb2.VerifyAuditLogRequest())
            assert not verdict.ok and verdict.first_bad_seq == create.seq
            assert "modified" in verdict.reason
            broken = await asyncio.to_thread(runner.invoke, audit_app, ["verify"])
            assert broken.exit_code == 1
            assert f"row {create.seq}" in broken.output


async def test_removed_row_is_named(database_url: str | None, data_dir: Path, nats_url: str):
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    rt = identity_server.runtime(
        service_settings(database_url, data_dir, nats_url, schema_prefix=prefix)
    )
    async with running(rt) as ich:
        identity = identity_pb2_grpc.IdentityServiceStub(ich)
        audit = audit_pb2_grpc.AuditServiceStub(ich)
        actor = f"hr-{uuid.uuid4().hex[:8]}"
        md = (("x-stride-actor", actor),)
        for i in range(3):
            await identity.CreateDepartment(
                pb.CreateDepartmentRequest(name=f"Dept {actor} {i}"), metadata=md
            )
        entries = await wait_for_entries(audit, 3, actor=actor)
        middle = entries[1].seq
        engine = db.create_engine(
            StrideSettings(database_url=database_url, data_dir=data_dir, schema_prefix=prefix),
            "identity",
        )
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": middle})
        await engine.dispose()
        verdict = await audit.VerifyAuditLog(audit_pb2.VerifyAuditLogRequest())
        assert not verdict.ok and "missing" in verdict.reason
        assert verdict.first_bad_seq == middle + 1


async def test_newest_first_pages_neither_repeat_nor_skip_while_entries_arrive(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    """Someone reads the trail page by page while the organisation keeps changing: each
    entry shows exactly once (an offset would shift by every entry appended meanwhile)."""
    rt = identity_server.runtime(service_settings(database_url, data_dir, nats_url))
    async with running(rt) as ich:
        identity = identity_pb2_grpc.IdentityServiceStub(ich)
        audit = audit_pb2_grpc.AuditServiceStub(ich)
        actor = f"hr-{uuid.uuid4().hex[:8]}"
        md = (("x-stride-actor", actor),)

        async def departments(*names: str) -> None:
            for name in names:
                await identity.CreateDepartment(
                    pb.CreateDepartmentRequest(name=f"{name} {actor}"), metadata=md
                )

        await departments("Press", "Paint", "Assembly")
        before = [e.seq for e in await wait_for_entries(audit, 3, actor=actor)]
        first = await audit.ListAuditEntries(
            audit_pb2.ListAuditEntriesRequest(actor=actor, page={"page_size": 2})
        )
        await departments("Logistics", "Quality")  # appended between the two pages
        await wait_for_entries(audit, 5, actor=actor)
        second = await audit.ListAuditEntries(
            audit_pb2.ListAuditEntriesRequest(
                actor=actor,
                page={"page_size": 2, "page_token": first.page.next_page_token},
            )
        )
        seen = [e.seq for e in first.entries] + [e.seq for e in second.entries]
        # The three there when paging began, newest first, each once; the later two wait for
        # a fresh first page.
        assert seen == before
        assert second.page.next_page_token == ""

        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await audit.ListAuditEntries(
                audit_pb2.ListAuditEntriesRequest(page={"page_token": "bm90LWEtdG9rZW4="})
            )
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
