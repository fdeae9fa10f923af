"""OrgSyncService: record runs, plan a snapshot or an uploaded file, apply its batches, read
runs and reports."""

from __future__ import annotations

import grpc

from services.identity.handlers.org_sync import OrgSync
from stride.identity.v1 import org_sync_pb2 as pb
from stride.identity.v1 import org_sync_pb2_grpc


class OrgSyncServicer(org_sync_pb2_grpc.OrgSyncServiceServicer):
    def __init__(self, org_sync: OrgSync) -> None:
        self.org_sync = org_sync

    async def PlanOrgSync(
        self, request: pb.PlanOrgSyncRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgSyncReport:
        return await self.org_sync.plan(request)

    async def BeginOrgSyncRun(
        self, request: pb.BeginOrgSyncRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgSyncReport:
        return await self.org_sync.begin(request)

    async def FailOrgSyncRun(
        self, request: pb.FailOrgSyncRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgSyncReport:
        return await self.org_sync.fail(request)

    async def CreateOrgSyncUpload(
        self, request: pb.CreateOrgSyncUploadRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgSyncUpload:
        return await self.org_sync.uploads.create(request)

    async def ApplyOrgSyncBatch(
        self, request: pb.ApplyOrgSyncBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApplyOrgSyncBatchResponse:
        return await self.org_sync.apply_batch(request.run_id, request.batch_no)

    async def GetOrgSyncReport(
        self, request: pb.GetOrgSyncReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgSyncReport:
        return await self.org_sync.report(request.run_id)

    async def ListOrgSyncRuns(
        self, request: pb.ListOrgSyncRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrgSyncRunsResponse:
        return pb.ListOrgSyncRunsResponse(runs=await self.org_sync.runs(request.limit))
