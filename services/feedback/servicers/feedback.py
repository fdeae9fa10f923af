"""FeedbackService: a thin adapter from each RPC to its handler (services/feedback/handlers).

Requests go to the handler as they are (protobuf messages are the commands); domain errors
become gRPC statuses in the shared server bootstrap. No SQL and no rules here.
"""

from __future__ import annotations

import grpc

from services.feedback.handlers import settings
from services.feedback.handlers.shared import Deps
from stride.feedback.v1 import feedback_pb2 as pb
from stride.feedback.v1 import feedback_pb2_grpc


class FeedbackServicer(feedback_pb2_grpc.FeedbackServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def GetSettings(
        self, request: pb.GetSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.FeedbackSettings:
        return await settings.get(self.deps, request)

    async def UpdateSettings(
        self, request: pb.UpdateSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.FeedbackSettings:
        return await settings.update(self.deps, request)
