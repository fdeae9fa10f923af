"""ArchiveService: a thin adapter from each RPC to its handler (performance archive,
calibration). Domain errors become gRPC statuses in the shared server bootstrap."""

from __future__ import annotations

import grpc

from services.feedback.handlers import archive, calibration
from services.feedback.handlers.archive_shared import ArchiveDeps
from stride.feedback.v1 import archive_pb2 as pb
from stride.feedback.v1 import archive_pb2_grpc


class ArchiveServicer(archive_pb2_grpc.ArchiveServiceServicer):
    def __init__(self, deps: ArchiveDeps) -> None:
        self.deps = deps

    async def ArchiveCycle(
        self, request: pb.ArchiveCycleRequest, context: grpc.aio.ServicerContext
    ) -> pb.ArchiveCycleResponse:
        return await archive.archive_cycle(self.deps, request)

    async def GetHistory(
        self, request: pb.GetHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.History:
        return await archive.history(self.deps, request)

    async def SubmitSelfAssessment(
        self, request: pb.SubmitSelfAssessmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.ArchiveRecord:
        return await archive.self_assessment(self.deps, request)

    async def SubmitManagerRating(
        self, request: pb.SubmitManagerRatingRequest, context: grpc.aio.ServicerContext
    ) -> pb.ArchiveRecord:
        return await archive.manager_rating(self.deps, request)

    async def ExportArchive(
        self, request: pb.ExportArchiveRequest, context: grpc.aio.ServicerContext
    ) -> pb.ArchivePage:
        return await archive.export(self.deps, request)

    async def OpenCalibration(
        self, request: pb.OpenCalibrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Calibration:
        return await calibration.open_(self.deps, request)

    async def GetCalibration(
        self, request: pb.GetCalibrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Calibration:
        return await calibration.get(self.deps, request)

    async def ListCalibrations(
        self, request: pb.ListCalibrationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCalibrationsResponse:
        return await calibration.list_(self.deps, request)

    async def SetGuidance(
        self, request: pb.SetGuidanceRequest, context: grpc.aio.ServicerContext
    ) -> pb.Calibration:
        return await calibration.set_guidance(self.deps, request)

    async def Calibrate(
        self, request: pb.CalibrateRequest, context: grpc.aio.ServicerContext
    ) -> pb.Calibration:
        return await calibration.calibrate(self.deps, request)
