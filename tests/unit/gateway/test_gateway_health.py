"""Probes, OpenAPI, the app's own lifespan wiring, and serve()."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from gateway.app import create_app
from gateway.bootstrap import GatewayDeps
from gateway.server import serve
from services.common.binaries import free_port
from services.common.settings import GatewaySettings
from tests.unit.gateway.conftest import BASE, bearer, gateway_settings, make_client
from tests.unit.gateway.fakes import FakeServices

PROBLEM = "application/problem+json"


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


async def test_readyz_ok_when_every_check_passes(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "checks": {"identity": "ok", "goals": "ok", "nats": "ok", "temporal": "ok"},
    }


async def test_readyz_503_names_the_service_that_is_down(
    client: httpx.AsyncClient, services: FakeServices
) -> None:
    await services.goals_server.stop(grace=0)
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["code"] == "not_ready" and body["failed"] == ["goals"]
    assert body["checks"]["identity"] == "ok" and body["checks"]["goals"] != "ok"
    assert "goals" in body["detail"]


async def test_readyz_503_when_a_service_reports_not_serving(
    client: httpx.AsyncClient, services: FakeServices
) -> None:
    # what a service does when it begins a graceful shutdown
    await services.identity_server.health.enter_graceful_shutdown()
    body = (await client.get("/readyz")).json()
    assert body["failed"] == ["identity"] and body["checks"]["identity"] == "not_serving"


async def test_readyz_times_out_a_hanging_check(
    settings: GatewaySettings, deps: GatewayDeps
) -> None:
    async def hangs() -> None:
        await asyncio.sleep(30)

    async def answers() -> None:
        return None

    # The other checks answer at once: on a busy machine a real one may take longer than
    # the short timeout this test sets, and would be reported too.
    deps.readiness = {**{name: answers for name in deps.readiness}, "temporal": hangs}
    deps.ready_timeout = 0.2
    async with make_client(settings, deps) as client:
        started = time.monotonic()
        r = await client.get("/readyz")
    assert time.monotonic() - started < 10  # not the 30 s the check would hang
    assert r.status_code == 503
    assert r.json()["failed"] == ["temporal"] and r.json()["checks"]["temporal"] == "timeout"


async def test_lifespan_builds_real_deps_and_readyz_names_what_is_down(
    services: FakeServices,
) -> None:
    """create_app without deps: the lifespan connects to the configured addresses."""
    settings = gateway_settings(
        identity_addr=services.identity_addr,
        goals_addr=f"127.0.0.1:{free_port()}",  # nothing listens there
        feedback_addr=services.feedback_addr,
        telemetry_addr=services.telemetry_addr,
        nats_url=f"nats://127.0.0.1:{free_port()}",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE, headers=bearer()
        ) as client:
            started = time.monotonic()
            r = await client.get("/readyz")
            assert time.monotonic() - started < 3
            # requests to a live service work while others are down
            assert (await client.get("/api/v1/departments")).status_code == 200
            assert (await client.get("/api/v1/cycles")).json()["code"] == "service_unavailable"
    assert r.status_code == 503
    body = r.json()
    assert sorted(body["failed"]) == ["goals", "nats", "temporal"]
    assert body["checks"]["identity"] == "ok"
    assert app.state.deps is None


async def test_lifespan_ready_against_real_nats_and_temporal(
    services: FakeServices, nats_url: str, temporal_env: WorkflowEnvironment
) -> None:
    settings = gateway_settings(
        identity_addr=services.identity_addr,
        goals_addr=services.goals_addr,
        feedback_addr=services.feedback_addr,
        telemetry_addr=services.telemetry_addr,
        nats_url=nats_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            deadline = time.monotonic() + 15
            while True:  # NATS connects in the background
                r = await client.get("/readyz")
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
    assert r.status_code == 200, r.text
    assert set(r.json()["checks"].values()) == {"ok"}


async def test_openapi_lists_the_routes(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    paths = spec["paths"]
    expected = {
        "/api/v1/departments": {"get", "post"},
        "/api/v1/departments/{department_id}": {"get", "patch"},
        "/api/v1/employees": {"get", "post"},
        "/api/v1/employees/{employee_id}": {"get", "patch"},
        "/api/v1/cycles": {"get", "post"},
        "/api/v1/cycles/{cycle_id}": {"get"},
        "/api/v1/cycles/{cycle_id}/close": {"post"},
        "/api/v1/objectives": {"get", "post"},
        "/api/v1/objectives/{objective_id}": {"get"},
        "/api/v1/objectives/{objective_id}/key-results": {"get", "post"},
        "/api/v1/key-results/{key_result_id}": {"get"},
        "/api/v1/key-results/{key_result_id}/check-ins": {"get", "post"},
        "/api/v1/key-results/{key_result_id}/escalation": {"get"},
        "/api/v1/auth/login": {"post"},
        "/api/v1/auth/refresh": {"post"},
        "/api/v1/auth/logout": {"post"},
        "/api/v1/auth/password": {"post"},
        "/api/v1/auth/me": {"get"},
        "/api/v1/employees/{employee_id}/password-reset": {"post"},
        "/api/v1/api-keys": {"get", "post"},
        "/api/v1/api-keys/{api_key_id}/revoke": {"post"},
        "/api/v1/audit": {"get"},
        "/api/v1/audit/verify": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    post_check_in = paths["/api/v1/key-results/{key_result_id}/check-ins"]["post"]
    assert "201" in post_check_in["responses"] and "422" in post_check_in["responses"]
    assert PROBLEM in post_check_in["responses"]["422"]["content"]
    schema = spec["components"]["schemas"]["CheckInCreate"]
    assert schema["properties"]["confidence"]["maximum"] == 10
    assert spec["components"]["schemas"]["Cycle"]["properties"]["status"]["enum"] == [
        "unspecified",
        "open",
        "closed",
    ]
    list_params = {p["name"] for p in paths["/api/v1/employees"]["get"]["parameters"]}
    assert list_params == {"page_size", "page_token", "department_id", "manager_id"}
    docs = await client.get("/api/v1/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_serve_runs_until_cancelled(services: FakeServices) -> None:
    port = free_port()
    settings = gateway_settings(
        http_port=port,
        identity_addr=services.identity_addr,
        goals_addr=services.goals_addr,
        feedback_addr=services.feedback_addr,
        telemetry_addr=services.telemetry_addr,
        nats_url=f"nats://127.0.0.1:{free_port()}",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    task = asyncio.create_task(serve(settings))
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, headers=bearer()) as client:
            deadline = time.monotonic() + 10
            while True:
                try:
                    r = await client.get("/healthz")
                    break
                except httpx.TransportError:
                    assert not task.done(), task
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
            assert r.status_code == 200
            created = await client.post("/api/v1/departments", json={"name": "Over HTTP"})
            assert created.status_code == 201
            assert created.headers["location"].startswith("/api/v1/departments/")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


async def test_serve_raises_when_the_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = gateway_settings(http_port=port, nats_url="nats://127.0.0.1:1")
        with pytest.raises(RuntimeError, match="failed to start"):
            await asyncio.wait_for(serve(settings), 15)
