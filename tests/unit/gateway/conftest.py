"""Fixtures for the gateway's unit tests: fake gRPC services and an app wired to them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from gateway.app import create_app
from gateway.bootstrap import GatewayDeps, TemporalConnector, grpc_health_check
from gateway.policy import Principal
from gateway.tokens import AccessTokens
from services.common.channels import channel
from services.common.settings import GatewaySettings
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2_grpc
from stride.telemetry.v1 import telemetry_pb2_grpc
from tests.unit.gateway.fakes import FakeServices

BASE = "http://gateway.test"
JWT_SECRET = "unit-tests-only-" + "k" * 32
# The caller of most gateway unit tests: an admin may do everything, so the tests about
# translation and errors need no fakes of the manager chain.
ADMIN = Principal(id="emp-admin", roles=frozenset({"admin"}), name="Test Admin")


def gateway_settings(**kwargs: object) -> GatewaySettings:
    """GatewaySettings with the tests' JWT secret (so nothing is written to .stride/)."""
    return GatewaySettings(jwt_secret=JWT_SECRET, **kwargs)  # type: ignore[arg-type]


def bearer(principal: Principal = ADMIN) -> dict[str, str]:
    token = AccessTokens(JWT_SECRET.encode(), timedelta(minutes=5)).issue(principal).token
    return {"Authorization": f"Bearer {token}"}


async def _no_temporal() -> object:
    raise ConnectionError("no Temporal in this test")


async def ok() -> None:
    return None


@pytest.fixture
async def services() -> AsyncIterator[FakeServices]:
    fakes = FakeServices()
    await fakes.start()
    try:
        yield fakes
    finally:
        await fakes.stop()


@pytest.fixture
def settings(services: FakeServices) -> GatewaySettings:
    return gateway_settings(
        identity_addr=services.identity_addr,
        goals_addr=services.goals_addr,
        feedback_addr=services.feedback_addr,
        telemetry_addr=services.telemetry_addr,
        nats_url="nats://127.0.0.1:1",
        temporal_address="127.0.0.1:1",
    )


@pytest.fixture
async def deps(services: FakeServices) -> AsyncIterator[GatewayDeps]:
    """Real grpc.aio channels to the fakes; NATS and Temporal checks pass (not under test)."""
    identity = channel(services.identity_addr)
    goals = channel(services.goals_addr)
    telemetry = channel(services.telemetry_addr)
    d = GatewayDeps(
        identity=identity_pb2_grpc.IdentityServiceStub(identity),
        goals=goals_pb2_grpc.GoalsServiceStub(goals),
        telemetry=telemetry_pb2_grpc.TelemetryServiceStub(telemetry),
        temporal=TemporalConnector(_no_temporal),  # type: ignore[arg-type]
        readiness={
            "identity": grpc_health_check(identity),
            "goals": grpc_health_check(goals),
            "nats": ok,
            "temporal": ok,
        },
    )
    try:
        yield d
    finally:
        await identity.close(None)
        await goals.close(None)
        await telemetry.close(None)


def make_client(
    settings: GatewaySettings, deps: GatewayDeps, principal: Principal | None = ADMIN
) -> httpx.AsyncClient:
    """A client of the app; signed in as ``principal`` (None: anonymous)."""
    app = create_app(settings, deps)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url=BASE,
        headers=bearer(principal) if principal is not None else None,
    )


@pytest.fixture
async def client(settings: GatewaySettings, deps: GatewayDeps) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(settings, deps) as c:
        yield c
