"""The event bridge's logging against a real nats-server: an idle bridge is quiet, a real
fetch failure is logged with what went wrong.

An empty pull fetch ends in a timeout: ``nats.errors.TimeoutError``, or a bare
``asyncio.TimeoutError`` when nats-py sees the answer to its no-wait probe only after the fetch's
deadline (an event loop busy with other work, a loaded machine). Either means "no messages
yet", not a failure; the bare one used to log ``bridge: fetch failed, retrying error=`` (empty)
every few seconds. A busy loop is made here by a task that blocks it for longer than the fetch
timeout at every turn, which makes nats-py raise the bare timeout on every fetch.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nats
import pytest
from nats.aio.client import Client as Nats
from structlog.testing import capture_logs
from temporalio.testing import WorkflowEnvironment

from services.common.binaries import private_nats_server
from services.worker.bridge import EventBridge
from tests.waiting import until

IDLE_FETCHES = 12
FETCH_TIMEOUT = 0.1


@pytest.fixture(scope="module")
def empty_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A nats-server of its own: the session's has other tests' events in its streams, and
    an idle bridge is one with nothing to read."""
    with private_nats_server(tmp_path_factory.mktemp("idle-nats")) as url:
        yield url


@pytest.fixture
async def nc(empty_nats: str) -> AsyncIterator[Nats]:
    conn: Nats = await nats.connect(empty_nats)
    try:
        yield conn
    finally:
        if not conn.is_closed:
            await conn.close()


def bridge_on(nc: Nats, temporal_env: WorkflowEnvironment) -> EventBridge:
    return EventBridge(
        nc.jetstream(),
        temporal_env.client,  # never called: no event arrives
        task_queue="idle",
        consumer=f"idle-{uuid.uuid4().hex[:8]}",
        fetch_timeout=FETCH_TIMEOUT,
    )


async def fetches_returned(bridge: EventBridge, count: int, logs: list[dict[str, Any]]) -> None:
    """Until ``count`` fetches came back empty in a row, or the bridge logged a warning."""
    seen: float | None = bridge.last_fetch
    done = 0
    while done < count and not [e for e in logs if e["log_level"] != "info"]:
        await asyncio.sleep(0.02)
        if bridge.last_fetch != seen:
            seen = bridge.last_fetch
            done += 1


async def hog(stop: asyncio.Event) -> None:
    """Keep the event loop busy: block it for longer than a fetch may take, at every turn."""
    while not stop.is_set():
        time.sleep(FETCH_TIMEOUT * 1.5)  # noqa: ASYNC251 -- blocking the loop is the point
        await asyncio.sleep(0)


@pytest.mark.parametrize("loop", ["quiet", "busy"])
async def test_an_idle_bridge_logs_nothing_but_its_start(
    nc: Nats, temporal_env: WorkflowEnvironment, loop: str
) -> None:
    bridge = bridge_on(nc, temporal_env)
    await bridge.setup()
    stop = asyncio.Event()
    busy = asyncio.create_task(hog(stop)) if loop == "busy" else None
    with capture_logs() as logs:
        run = asyncio.create_task(bridge.run())
        try:
            await asyncio.wait_for(fetches_returned(bridge, IDLE_FETCHES, logs), 60)
        finally:
            stop.set()
            if busy is not None:
                await busy
            bridge.stop()
            await asyncio.wait_for(run, 10)
    noisy = [e for e in logs if e["log_level"] not in ("info", "debug")]
    assert noisy == []
    assert [e["event"] for e in logs] == ["event bridge started", "event bridge stopped"]


async def test_a_failed_fetch_is_logged_with_its_error(
    nc: Nats, temporal_env: WorkflowEnvironment
) -> None:
    bridge = bridge_on(nc, temporal_env)
    await bridge.setup()
    with capture_logs() as logs:
        run = asyncio.create_task(bridge.run())
        try:
            await asyncio.wait_for(fetches_returned(bridge, 1, logs), 30)
            await nc.close()  # every later fetch fails: the connection is gone
            await until(lambda: any(e["log_level"] == "warning" for e in logs), 10)
        finally:
            bridge.stop()
            await asyncio.wait_for(run, 10)
    failed = next(e for e in logs if e["log_level"] == "warning")
    assert failed["event"] == "bridge: fetch failed, retrying"
    assert "ConnectionClosedError" in failed["error"]
