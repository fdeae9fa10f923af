"""Calling OrgSyncService: plan a snapshot, then apply its batches (CLI and activities)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from services.common.channels import MAX_MESSAGE_BYTES, channel
from services.common.request_context import ACTOR_KEY
from services.identity.sync.convert import snapshot_to_pb
from services.identity.sync.data import Snapshot
from stride.identity.v1 import org_sync_pb2 as pb
from stride.identity.v1 import org_sync_pb2_grpc

# A snapshot of a large organisation is a few MB: within STRIDE_GRPC_MAX_MESSAGE_BYTES.
PLAN_TIMEOUT_SECONDS = 120.0
APPLY_TIMEOUT_SECONDS = 120.0


def actor(source: str) -> str:
    """Who the audit trail names for a sync's writes."""
    return f"org-sync:{source}"


class OrgSyncClient:
    def __init__(
        self, address: str, *, source: str, max_message_bytes: int = MAX_MESSAGE_BYTES
    ) -> None:
        self.channel = channel(address, actor=actor(source), max_message_bytes=max_message_bytes)
        self.stub = org_sync_pb2_grpc.OrgSyncServiceStub(self.channel)
        self.metadata = ((ACTOR_KEY, actor(source)),)
        self.source = source

    async def close(self) -> None:
        await self.channel.close(None)

    async def __aenter__(self) -> OrgSyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def plan(
        self,
        snapshot: Snapshot | None,
        *,
        run_id: str = "",
        dry_run: bool = False,
        batch_size: int = 0,
        allow_mass_deactivation: bool = False,
        upload_id: str = "",
        requested_by: str = "",
    ) -> pb.OrgSyncReport:
        """Plan ``snapshot`` (or the stored file ``upload_id``) as the run ``run_id`` (a new
        one when empty); a dry run is recorded too, with nothing to apply."""
        return await self.stub.PlanOrgSync(
            pb.PlanOrgSyncRequest(
                source=self.source,
                run_id=run_id or str(uuid.uuid4()),
                dry_run=dry_run,
                batch_size=batch_size,
                snapshot=snapshot_to_pb(snapshot) if snapshot is not None else None,
                allow_mass_deactivation=allow_mass_deactivation,
                upload_id=upload_id,
                requested_by=requested_by,
            ),
            timeout=PLAN_TIMEOUT_SECONDS,
            metadata=self.metadata,
        )

    async def begin(
        self,
        run_id: str,
        *,
        dry_run: bool = False,
        requested_by: str = "",
        upload_id: str = "",
        workflow_id: str = "",
    ) -> pb.OrgSyncReport:
        """Record that the run started (it shows in the runs list from now on)."""
        return await self.stub.BeginOrgSyncRun(
            pb.BeginOrgSyncRunRequest(
                run_id=run_id,
                source=self.source,
                dry_run=dry_run,
                requested_by=requested_by,
                upload_id=upload_id,
                workflow_id=workflow_id,
            ),
            timeout=30,
            metadata=self.metadata,
        )

    async def fail(self, run_id: str, reason: str, *, dry_run: bool = False) -> pb.OrgSyncReport:
        """Record that the run failed, and why."""
        return await self.stub.FailOrgSyncRun(
            pb.FailOrgSyncRunRequest(
                run_id=run_id, reason=reason, source=self.source, dry_run=dry_run
            ),
            timeout=30,
            metadata=self.metadata,
        )

    async def apply_batch(self, run_id: str, batch_no: int) -> pb.ApplyOrgSyncBatchResponse:
        return await self.stub.ApplyOrgSyncBatch(
            pb.ApplyOrgSyncBatchRequest(run_id=run_id, batch_no=batch_no),
            timeout=APPLY_TIMEOUT_SECONDS,
            metadata=self.metadata,
        )

    async def report(self, run_id: str) -> pb.OrgSyncReport:
        return await self.stub.GetOrgSyncReport(
            pb.GetOrgSyncReportRequest(run_id=run_id), timeout=30, metadata=self.metadata
        )

    async def sync(
        self,
        snapshot: Snapshot,
        *,
        run_id: str = "",
        dry_run: bool = False,
        batch_size: int = 0,
        allow_mass_deactivation: bool = False,
        on_planned: Callable[[pb.OrgSyncReport], None] | None = None,
        on_batch: Callable[[pb.ApplyOrgSyncBatchResponse], None] | None = None,
    ) -> pb.OrgSyncReport:
        """Plan, then apply every batch in order; the final report (or the dry run's)."""
        planned = await self.plan(
            snapshot,
            run_id=run_id,
            dry_run=dry_run,
            batch_size=batch_size,
            allow_mass_deactivation=allow_mass_deactivation,
        )
        if on_planned is not None:
            on_planned(planned)
        if dry_run:
            return planned
        for batch_no in range(planned.batches_applied, planned.batch_count):
            done = await self.apply_batch(planned.run_id, batch_no)
            if on_batch is not None:
                on_batch(done)
        return await self.report(planned.run_id)
