"""TalentService: a thin adapter from each RPC to its handler (high-potential suggestions,
managers' dimensions). No SQL and no rules here."""

from __future__ import annotations

import grpc

from services.feedback.handlers import talent
from services.feedback.handlers.talent import TalentDeps
from stride.feedback.v1 import talent_pb2 as pb
from stride.feedback.v1 import talent_pb2_grpc
from workflows.vocabulary import SUGGESTION_CONFIRMED, SUGGESTION_DISMISSED


class TalentServicer(talent_pb2_grpc.TalentServiceServicer):
    def __init__(self, deps: TalentDeps) -> None:
        self.deps = deps

    async def ComputeSuggestions(
        self, request: pb.ComputeSuggestionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ComputeSuggestionsResponse:
        return await talent.compute(self.deps, request)

    async def ListSuggestions(
        self, request: pb.ListSuggestionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSuggestionsResponse:
        return await talent.list_(self.deps, request)

    async def GetSuggestion(
        self, request: pb.GetSuggestionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Suggestion:
        return await talent.get(self.deps, request)

    async def ConfirmSuggestion(
        self, request: pb.DecideSuggestionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Suggestion:
        return await talent.decide(self.deps, request, SUGGESTION_CONFIRMED)

    async def DismissSuggestion(
        self, request: pb.DecideSuggestionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Suggestion:
        return await talent.decide(self.deps, request, SUGGESTION_DISMISSED)

    async def GetManagerDimensions(
        self, request: pb.GetManagerDimensionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ManagerDimensions:
        return await talent.manager_dimensions(self.deps, request)
