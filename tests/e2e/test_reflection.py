"""Every service process serves gRPC reflection and health (grpcurl, grpc-health-probe, k8s)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

# process → (its main service, one of that service's methods)
EXPECTED = {
    "identity": ("stride.identity.v1.IdentityService", "CreateDepartment"),
    "goals": ("stride.goals.v1.GoalsService", "RecordCheckIn"),
    "feedback": ("stride.feedback.v1.FeedbackService", "GiveFeedback"),
    "telemetry": ("stride.telemetry.v1.TelemetryService", "IngestSamples"),
}


def _reflected(address: str, service: str) -> tuple[set[str], set[str]]:
    """(services listed by reflection, methods of ``service`` as reflection describes it)."""
    with grpc.insecure_channel(address) as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        services = set(db.get_services())
        file = db.FindFileContainingSymbol(service)
        short = service.rsplit(".", 1)[1]
        methods = {m.name for s in file.service if s.name == short for m in s.method}
        return services, methods


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_reflection_lists_the_service_and_health(stack: Stack, name: str) -> None:
    service, method = EXPECTED[name]
    services, methods = await asyncio.to_thread(
        _reflected, stack.config.service_addr(name), service
    )
    assert service in services
    assert "grpc.health.v1.Health" in services
    assert method in methods
