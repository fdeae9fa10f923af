"""GET /key-results/{id}/escalation → the ``state`` query of ``kr-escalation/<id>``.

Runs a stand-in escalation workflow on Temporal's time-skipping test server (fixture
``temporal_env``); the real workflow lives in workflows/kr_escalation.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from gateway.bootstrap import GatewayDeps, TemporalConnector
from services.common.binaries import free_port
from services.common.settings import GatewaySettings
from stride.goals.v1 import goals_pb2 as gpb
from tests.unit.gateway.conftest import make_client
from tests.unit.gateway.fake_workflows import FakeKrEscalationWorkflow
from tests.unit.gateway.fakes import FakeServices

API = "/api/v1"


def _key_result(services: FakeServices, kr: str) -> str:
    """A key result the gateway can load (its rule is decided on the key result's facts)."""
    services.goals.key_results[kr] = gpb.KeyResult(id=kr, owner_id="emp-1", department_id="d")
    return kr


@pytest.fixture
async def temporal_client(
    settings: GatewaySettings, deps: GatewayDeps, temporal_env: WorkflowEnvironment
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    task_queue = f"gateway-test-{uuid.uuid4()}"
    deps.temporal = TemporalConnector.of(temporal_env.client)
    async with (
        Worker(temporal_env.client, task_queue=task_queue, workflows=[FakeKrEscalationWorkflow]),
        make_client(settings, deps) as client,
    ):
        yield client, task_queue


async def _start(env: WorkflowEnvironment, task_queue: str, kr: str) -> WorkflowHandle:
    return await env.client.start_workflow(
        FakeKrEscalationWorkflow.run,
        kr,
        id=f"kr-escalation/{kr}",
        task_queue=task_queue,
        execution_timeout=timedelta(hours=1),
    )


async def test_escalation_state_is_rendered(
    temporal_client: tuple[httpx.AsyncClient, str],
    temporal_env: WorkflowEnvironment,
    services: FakeServices,
) -> None:
    client, task_queue = temporal_client
    kr = _key_result(services, f"kr-{uuid.uuid4().hex[:8]}")
    handle = await _start(temporal_env, task_queue, kr)
    try:
        r = await client.get(f"{API}/key-results/{kr}/escalation")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "key_result_id": kr,
            "level": 2,
            "level_name": "red",
            "status": "active",
            "at_risk_weeks": ["2026-W09", "2026-W10"],
            # A workflow that reports no notifications (older code): nobody told.
            "told": [],
        }
    finally:
        await handle.signal(FakeKrEscalationWorkflow.finish)
        # Ended while its worker still runs: a signal's workflow task left to a worker that
        # is gone keeps the shared time-skipping server from skipping time for later tests.
        await handle.result()


async def test_no_escalation_workflow_is_404(
    temporal_client: tuple[httpx.AsyncClient, str], services: FakeServices
) -> None:
    client, _ = temporal_client
    kr = _key_result(services, f"kr-never-at-risk-{uuid.uuid4().hex}")
    r = await client.get(f"{API}/key-results/{kr}/escalation")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "escalation_not_found"


async def test_temporal_unreachable_is_503(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    _key_result(services, "kr-1")
    dead = GatewaySettings(temporal_address=f"127.0.0.1:{free_port()}")
    deps.temporal = TemporalConnector.from_settings(dead)
    async with make_client(settings, deps) as client:
        r = await client.get(f"{API}/key-results/kr-1/escalation")
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "temporal_unavailable"
    assert "127.0.0.1" not in r.text
