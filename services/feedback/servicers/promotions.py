"""PromotionService: a thin adapter from each RPC to its handler (cases, eligibility rules,
the steps the promotion workflow records). No SQL and no rules here."""

from __future__ import annotations

import grpc

from services.feedback.handlers import promotion_steps, promotions
from services.feedback.handlers.promotions import PromotionDeps
from stride.feedback.v1 import promotions_pb2 as pb
from stride.feedback.v1 import promotions_pb2_grpc


class PromotionServicer(promotions_pb2_grpc.PromotionServiceServicer):
    def __init__(self, deps: PromotionDeps) -> None:
        self.deps = deps

    async def Apply(
        self, request: pb.ApplyRequest, context: grpc.aio.ServicerContext
    ) -> pb.PromotionCase:
        return await promotions.apply(self.deps, request)

    async def GetCase(
        self, request: pb.GetCaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.PromotionCase:
        return await promotions.get(self.deps, request)

    async def ListCases(
        self, request: pb.ListCasesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCasesResponse:
        return await promotions.list_(self.deps, request)

    async def CheckEligibility(
        self, request: pb.CheckEligibilityRequest, context: grpc.aio.ServicerContext
    ) -> pb.EligibilityResult:
        return await promotions.check_eligibility(self.deps, request)

    async def GetCasePeople(
        self, request: pb.GetCasePeopleRequest, context: grpc.aio.ServicerContext
    ) -> pb.CasePeople:
        return await promotions.people(self.deps, request)

    async def RecordStep(
        self, request: pb.RecordStepRequest, context: grpc.aio.ServicerContext
    ) -> pb.PromotionCase:
        return await promotion_steps.record(self.deps, request)

    async def GetRules(
        self, request: pb.GetRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.EligibilityRules:
        return await promotions.get_rules(self.deps, request)

    async def PutRules(
        self, request: pb.PutRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.EligibilityRules:
        return await promotions.put_rules(self.deps, request)
