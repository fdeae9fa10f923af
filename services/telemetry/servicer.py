"""TelemetryService: a thin adapter from each RPC to its handler (services/telemetry/handlers).
No SQL and no rules here; domain errors become gRPC statuses in the shared server bootstrap."""

from __future__ import annotations

import grpc

from services.telemetry.handlers import bindings, dead_letters, metrics, samples
from services.telemetry.handlers.shared import Deps
from stride.telemetry.v1 import telemetry_pb2 as pb
from stride.telemetry.v1 import telemetry_pb2_grpc


class TelemetryServicer(telemetry_pb2_grpc.TelemetryServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def DefineMetric(
        self, request: pb.DefineMetricRequest, context: grpc.aio.ServicerContext
    ) -> pb.Metric:
        return await metrics.define(self.deps, request)

    async def GetMetric(
        self, request: pb.GetMetricRequest, context: grpc.aio.ServicerContext
    ) -> pb.Metric:
        return await metrics.get(self.deps, request)

    async def ListMetrics(
        self, request: pb.ListMetricsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMetricsResponse:
        return await metrics.list_(self.deps, request)

    async def IngestSamples(
        self, request: pb.IngestSamplesRequest, context: grpc.aio.ServicerContext
    ) -> pb.IngestSamplesResponse:
        return await samples.ingest_request(self.deps, request)

    async def CreateBinding(
        self, request: pb.CreateBindingRequest, context: grpc.aio.ServicerContext
    ) -> pb.Binding:
        return await bindings.create(self.deps, request)

    async def GetBinding(
        self, request: pb.GetBindingRequest, context: grpc.aio.ServicerContext
    ) -> pb.Binding:
        return await bindings.get(self.deps, request)

    async def ListBindings(
        self, request: pb.ListBindingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListBindingsResponse:
        return await bindings.list_(self.deps, request)

    async def DeleteBinding(
        self, request: pb.DeleteBindingRequest, context: grpc.aio.ServicerContext
    ) -> pb.Binding:
        return await bindings.delete(self.deps, request)

    async def QueryWindow(
        self, request: pb.QueryWindowRequest, context: grpc.aio.ServicerContext
    ) -> pb.WindowValue:
        return await samples.query_window(self.deps, request)

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDeadLettersResponse:
        return await dead_letters.list_(self.deps, request)
