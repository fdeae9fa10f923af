"""The gateway in front of the real identity, goals, feedback and telemetry services (in-process
runtimes, real database, private NATS), called through HTTP with httpx's ASGI transport.

Used by test_gateway_*.py and test_authz_matrix.py. Accounts are made the way an
operator makes the first admin (services/identity/bootstrap.py, straight to identity's
gRPC API); everything under test then goes through the REST API.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.bootstrap import GatewayDeps, build_deps
from services.common.binaries import free_port
from services.common.settings import GatewaySettings, TelemetrySettings
from services.feedback import server as feedback_server
from services.goals import server as goals_server
from services.identity import server as identity_server
from services.identity.bootstrap import Bootstrap
from services.telemetry import server as telemetry_server
from stride.feedback.v1 import (
    archive_pb2_grpc,
    feedback_pb2_grpc,
    promotions_pb2_grpc,
    rounds_pb2_grpc,
)
from stride.goals.v1 import goals_pb2_grpc
from stride.identity.v1 import identity_pb2
from stride.telemetry.v1 import telemetry_pb2_grpc
from tests.integration.services_fixtures import running, service_settings

API = "/api/v1"
BASE = "http://gateway.test"
JWT_SECRET = "integration-tests-only-" + "s" * 32
PASSWORD = "Correct-horse-1"
PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The problem+json body of ``r``, asserting its status and stable code."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = dict(r.json())
    assert body["code"] == code, body
    if status == 401:
        assert r.headers["www-authenticate"].startswith('Bearer realm="stride"')
    return body


@dataclass
class Person:
    employee: identity_pb2.Employee
    password: str
    token: str = ""

    @property
    def id(self) -> str:
        return str(self.employee.id)

    @property
    def login(self) -> str:
        return str(self.employee.employee_number)

    @property
    def headers(self) -> dict[str, str]:
        assert self.token, "sign in first"
        return bearer(self.token)


@dataclass
class GatewayStack:
    app: FastAPI
    settings: GatewaySettings
    deps: GatewayDeps
    # Anonymous client; pass headers= per request. base_url ends in /api/v1.
    http: httpx.AsyncClient
    # Setup straight through identity's gRPC API (like `stride admin create`).
    admin_grpc: Bootstrap
    goals: Any  # goals_pb2_grpc.GoalsServiceStub
    feedback: Any = None  # feedback_pb2_grpc.FeedbackServiceStub
    rounds: Any = None  # rounds_pb2_grpc.RoundServiceStub
    promotions: Any = None  # promotions_pb2_grpc.PromotionServiceStub
    archive: Any = None  # archive_pb2_grpc.ArchiveServiceStub
    telemetry: Any = None  # telemetry_pb2_grpc.TelemetryServiceStub
    # The identity service's database (for checks below the API).
    identity_engine: Any = None
    feedback_engine: Any = None

    async def department(self, name: str = "", *, parent_id: str = "", head_id: str = "") -> Any:
        return await self.admin_grpc.identity.CreateDepartment(
            identity_pb2.CreateDepartmentRequest(
                name=name or f"Dept {uuid.uuid4().hex[:8]}", parent_id=parent_id, head_id=head_id
            )
        )

    async def person(
        self,
        department_id: str,
        *,
        manager_id: str = "",
        roles: Sequence[str] = (),
        password: str = PASSWORD,
        must_change: bool = False,
        name: str = "Test Person",
        sign_in: bool = True,
    ) -> Person:
        tag = uuid.uuid4().hex[:8]
        employee = await self.admin_grpc.identity.CreateEmployee(
            identity_pb2.CreateEmployeeRequest(
                employee_number=f"T{tag}",
                name=name,
                email=f"{tag}@example.com",
                department_id=department_id,
                manager_id=manager_id,
                roles=list(roles),
            )
        )
        await self.admin_grpc.set_password(employee, password, must_change=must_change)
        person = Person(employee, password)
        if sign_in:
            person.token = (await self.login(person.login, password))["access_token"]
        return person

    async def login(self, login: str, password: str) -> dict[str, Any]:
        r = await self.http.post("/auth/login", json={"login": login, "password": password})
        assert r.status_code == 200, r.text
        return dict(r.json())


@asynccontextmanager
async def gateway_stack(
    database_url: str | None,
    data_dir: Path,
    nats_url: str,
    *,
    temporal_address: str | None = None,
    **gateway: Any,
) -> AsyncIterator[GatewayStack]:
    prefix = f"gw{uuid.uuid4().hex[:8]}_"
    identity_rt = identity_server.runtime(
        service_settings(database_url, data_dir, nats_url, schema_prefix=prefix)
    )
    async with running(identity_rt) as identity_channel:
        identity_addr = f"127.0.0.1:{identity_rt.port}"
        goals_rt = goals_server.runtime(
            service_settings(
                database_url, data_dir, nats_url, schema_prefix=prefix, identity_addr=identity_addr
            )
        )
        base = service_settings(database_url, data_dir, nats_url, schema_prefix=prefix)
        telemetry_rt = telemetry_server.runtime(
            TelemetrySettings(
                **{
                    **base.model_dump(),
                    "goals_addr": f"127.0.0.1:{goals_rt.settings.grpc_port}",
                    # Its own durable consumer: stacks sharing a NATS server each get every
                    # sample published on it.
                    "telemetry_consumer": f"telemetry-{prefix.rstrip('_')}",
                    "telemetry_staleness_interval": 5.0,
                }
            )
        )
        feedback_rt = feedback_server.runtime(
            service_settings(
                database_url,
                data_dir,
                nats_url,
                schema_prefix=prefix,
                identity_addr=identity_addr,
                goals_addr=f"127.0.0.1:{goals_rt.settings.grpc_port}",
                telemetry_addr=f"127.0.0.1:{telemetry_rt.settings.grpc_port}",
            )
        )
        async with (
            running(goals_rt) as goals_channel,
            running(feedback_rt) as feedback_channel,
            running(telemetry_rt) as telemetry_channel,
        ):
            settings = GatewaySettings(
                identity_addr=identity_addr,
                goals_addr=f"127.0.0.1:{goals_rt.port}",
                feedback_addr=f"127.0.0.1:{feedback_rt.port}",
                telemetry_addr=f"127.0.0.1:{telemetry_rt.port}",
                nats_url=nats_url,
                temporal_address=temporal_address or f"127.0.0.1:{free_port()}",
                jwt_secret=JWT_SECRET,  # type: ignore[arg-type]
                data_dir=data_dir,
                **gateway,
            )
            deps = await build_deps(settings)
            app = create_app(settings, deps)
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            try:
                async with httpx.AsyncClient(transport=transport, base_url=BASE + API) as http:
                    yield GatewayStack(
                        app=app,
                        settings=settings,
                        deps=deps,
                        http=http,
                        admin_grpc=Bootstrap(identity_channel),
                        goals=goals_pb2_grpc.GoalsServiceStub(goals_channel),
                        feedback=feedback_pb2_grpc.FeedbackServiceStub(feedback_channel),
                        rounds=rounds_pb2_grpc.RoundServiceStub(feedback_channel),
                        promotions=promotions_pb2_grpc.PromotionServiceStub(feedback_channel),
                        archive=archive_pb2_grpc.ArchiveServiceStub(feedback_channel),
                        telemetry=telemetry_pb2_grpc.TelemetryServiceStub(telemetry_channel),
                        identity_engine=identity_rt.engine,
                        feedback_engine=feedback_rt.engine,
                    )
            finally:
                await deps.aclose()


def module_stack(name: str) -> Any:
    """A module-scoped ``stack`` fixture: ``stack = module_stack("gw-goals")``."""

    @pytest.fixture(scope="module")
    async def stack(
        database_url: str | None, nats_url: str, tmp_path_factory: pytest.TempPathFactory
    ) -> AsyncIterator[GatewayStack]:
        async with gateway_stack(database_url, tmp_path_factory.mktemp(name), nats_url) as s:
            yield s

    return stack
