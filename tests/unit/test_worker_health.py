"""The worker's /healthz and /readyz (services/worker/health.py) served on a real port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.worker.health import HealthServer, WorkerHealth


class Nats:
    is_connected = True


@pytest.fixture
async def served() -> AsyncIterator[tuple[WorkerHealth, httpx.AsyncClient]]:
    health = WorkerHealth()
    server = HealthServer(health, "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            yield health, http
    finally:
        await server.stop()


async def test_live_while_not_ready_and_says_what_is_missing(
    served: tuple[WorkerHealth, httpx.AsyncClient],
) -> None:
    health, http = served
    live = await http.get("/healthz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    health.nats = Nats()
    ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "not_ready",
        "checks": {
            "temporal": "not connected",
            "nats": "ok",
            "worker": "not started",
            "bridge": "not started",
        },
    }


async def test_other_paths_and_methods_answer_json_errors(
    served: tuple[WorkerHealth, httpx.AsyncClient],
) -> None:
    _, http = served
    missing = await http.get("/nope")
    assert (missing.status_code, missing.json()) == (404, {"status": "not_found"})
    posted = await http.post("/readyz")
    assert (posted.status_code, posted.json()) == (405, {"status": "method_not_allowed"})
    head = await http.head("/healthz")
    assert (head.status_code, head.content) == (200, b"")


async def test_the_integrations_worker_is_ready_without_an_event_bridge(
    served: tuple[WorkerHealth, httpx.AsyncClient],
) -> None:
    """`stride worker --queue integrations` checks the parts it runs, not the bridge."""
    health, http = served
    health.parts = ("integrations",)
    health.nats = Nats()
    ready = await http.get("/readyz")
    assert ready.json()["checks"] == {
        "temporal": "not connected",
        "nats": "ok",
        "integrations": "not started",
    }
