"""FeedbackService: a thin adapter from each RPC to its handler (services/feedback/handlers).

Requests go to the handler as they are (protobuf messages are the commands); domain errors
become gRPC statuses in the shared server bootstrap. No SQL and no rules here.
"""

from __future__ import annotations

import grpc

from services.feedback.handlers import (
    badges,
    challenges,
    feedback,
    frequency,
    requests,
    settings,
    upward,
)
from services.feedback.handlers.shared import Deps
from stride.feedback.v1 import feedback_pb2 as pb
from stride.feedback.v1 import feedback_pb2_grpc


class FeedbackServicer(feedback_pb2_grpc.FeedbackServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def GiveFeedback(
        self, request: pb.GiveFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.Feedback:
        return await feedback.give(self.deps, request)

    async def GetFeedback(
        self, request: pb.GetFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.Feedback:
        return await feedback.get(self.deps, request)

    async def ListFeedback(
        self, request: pb.ListFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFeedbackResponse:
        return await feedback.list_(self.deps, request)

    async def ListPraise(
        self, request: pb.ListPraiseRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFeedbackResponse:
        return await feedback.list_praise(self.deps, request)

    async def RequestFeedback(
        self, request: pb.RequestFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.FeedbackAsk:
        return await requests.request_(self.deps, request)

    async def ListFeedbackRequests(
        self, request: pb.ListFeedbackRequestsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFeedbackRequestsResponse:
        return await requests.list_(self.deps, request)

    async def DeclineFeedbackRequest(
        self, request: pb.DeclineFeedbackRequestRequest, context: grpc.aio.ServicerContext
    ) -> pb.FeedbackAsk:
        return await requests.decline(self.deps, request)

    async def ListBadges(
        self, request: pb.ListBadgesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListBadgesResponse:
        return await badges.list_(self.deps, request)

    async def PutBadge(
        self, request: pb.PutBadgeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Badge:
        return await badges.put(self.deps, request)

    async def GiveUpwardFeedback(
        self, request: pb.GiveUpwardFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpwardFeedbackReceipt:
        return await upward.give(self.deps, request)

    async def GetUpwardFeedback(
        self, request: pb.GetUpwardFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpwardFeedbackSummary:
        return await upward.summary(self.deps, request)

    async def RaiseChallenge(
        self, request: pb.RaiseChallengeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Challenge:
        return await challenges.raise_(self.deps, request)

    async def GetChallenge(
        self, request: pb.GetChallengeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Challenge:
        return await challenges.get(self.deps, request)

    async def ListChallenges(
        self, request: pb.ListChallengesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListChallengesResponse:
        return await challenges.list_(self.deps, request)

    async def AnswerChallenge(
        self, request: pb.AnswerChallengeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Challenge:
        return await challenges.answer(self.deps, request)

    async def ResolveChallenge(
        self, request: pb.ResolveChallengeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Challenge:
        return await challenges.resolve(self.deps, request)

    async def GetFeedbackFrequency(
        self, request: pb.GetFeedbackFrequencyRequest, context: grpc.aio.ServicerContext
    ) -> pb.FeedbackFrequency:
        return await frequency.get(self.deps, request)

    async def GetSettings(
        self, request: pb.GetSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.FeedbackSettings:
        return await settings.get(self.deps, request)

    async def UpdateSettings(
        self, request: pb.UpdateSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.FeedbackSettings:
        return await settings.update(self.deps, request)
