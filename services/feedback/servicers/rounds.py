"""RoundService: a thin adapter from each RPC to its handler (360 templates, rounds,
nominations, answers, results). Domain errors become gRPC statuses in the shared server
bootstrap; no SQL and no rules here."""

from __future__ import annotations

import grpc

from services.feedback.handlers import round_answers, round_templates, rounds
from services.feedback.handlers.round_shared import RoundDeps
from stride.feedback.v1 import rounds_pb2 as pb
from stride.feedback.v1 import rounds_pb2_grpc


class RoundServicer(rounds_pb2_grpc.RoundServiceServicer):
    def __init__(self, deps: RoundDeps) -> None:
        self.deps = deps

    async def CreateTemplate(
        self, request: pb.CreateTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.Template:
        return await round_templates.create(self.deps, request)

    async def UpdateTemplate(
        self, request: pb.UpdateTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.Template:
        return await round_templates.update(self.deps, request)

    async def GetTemplate(
        self, request: pb.GetTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.Template:
        return await round_templates.get(self.deps, request)

    async def ListTemplates(
        self, request: pb.ListTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTemplatesResponse:
        return await round_templates.list_(self.deps, request)

    async def DeleteTemplate(
        self, request: pb.DeleteTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.Template:
        return await round_templates.delete(self.deps, request)

    async def StartRounds(
        self, request: pb.StartRoundsRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartRoundsResponse:
        return await rounds.start(self.deps, request)

    async def GetRound(
        self, request: pb.GetRoundRequest, context: grpc.aio.ServicerContext
    ) -> pb.Round:
        return await rounds.get(self.deps, request)

    async def ListMyRounds(
        self, request: pb.ListMyRoundsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRoundsResponse:
        return await rounds.list_mine(self.deps, request)

    async def Nominate(
        self, request: pb.NominateRequest, context: grpc.aio.ServicerContext
    ) -> pb.Round:
        return await rounds.nominate(self.deps, request)

    async def ApproveNominations(
        self, request: pb.ApproveNominationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.Round:
        return await rounds.approve(self.deps, request)

    async def MarkInvited(
        self, request: pb.MarkInvitedRequest, context: grpc.aio.ServicerContext
    ) -> pb.Round:
        return await rounds.mark_invited(self.deps, request)

    async def ListPendingRaters(
        self, request: pb.ListPendingRatersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPendingRatersResponse:
        return await rounds.pending(self.deps, request)

    async def SubmitAnswers(
        self, request: pb.SubmitAnswersRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitAnswersResponse:
        return await round_answers.submit(self.deps, request)

    async def CloseRound(
        self, request: pb.CloseRoundRequest, context: grpc.aio.ServicerContext
    ) -> pb.Round:
        return await round_answers.close(self.deps, request)

    async def CancelRound(
        self, request: pb.CancelRoundRequest, context: grpc.aio.ServicerContext
    ) -> pb.Round:
        return await rounds.cancel(self.deps, request)

    async def GetRoundResults(
        self, request: pb.GetRoundResultsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RoundResults:
        return await round_answers.results(self.deps, request)
