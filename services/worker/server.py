"""Worker process: ``stride serve worker``.

Runs the Temporal worker (every workflow and activity in :mod:`services.worker.worker`) and the
event bridge (:mod:`services.worker.bridge`) side by side until cancelled. Cancellation is the
graceful shutdown: the bridge stops fetching and settles the batch in hand, then the worker
finishes its in-flight tasks, then the NATS connection is drained.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from services.common import nats as stride_nats
from services.common.settings import WorkerSettings
from services.common.telemetry import temporal_interceptors
from services.identity.sync.schedules import ensure_org_sync_schedules
from services.worker.bridge import EventBridge
from services.worker.worker import build_worker, ensure_search_attributes

log = structlog.get_logger(__name__)

# The stack starts Temporal, NATS and the worker concurrently: wait this long for them.
CONNECT_WAIT_SECONDS = 60.0
BRIDGE_STOP_TIMEOUT_SECONDS = 30.0
WORKER_SHUTDOWN_TIMEOUT = timedelta(seconds=10)


async def connect_temporal(
    address: str, namespace: str, *, wait: float = CONNECT_WAIT_SECONDS
) -> Client:
    """Connect to Temporal, retrying for ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return await Client.connect(
                address,
                namespace=namespace,
                identity="stride-worker",
                interceptors=temporal_interceptors(),
            )
        except Exception as err:
            if time.monotonic() > deadline:
                raise
            log.info("waiting for Temporal", address=address, error=str(err))
            await asyncio.sleep(0.5)


async def serve(settings: WorkerSettings) -> None:
    """Run the worker and the event bridge until cancelled, then shut both down gracefully."""
    client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
    try:
        await ensure_search_attributes(client)
    except RPCError as err:
        # A managed cluster may not let the worker register them; ops do it there.
        log.warning("could not check or register search attributes", error=str(err))
    try:  # hourly org-sync/<source> schedules of STRIDE_ORG_SYNC_SOURCES (none by default)
        await ensure_org_sync_schedules(client, settings)
    except RPCError as err:
        log.warning("could not create or update the org sync schedules", error=str(err))
    nc = await stride_nats.connect(
        settings.nats_url, name="stride-worker", wait=CONNECT_WAIT_SECONDS
    )
    try:
        bridge = EventBridge(
            nc.jetstream(),
            client,
            task_queue=settings.task_queue,
            consumer=settings.bridge_consumer,
            default_time_zone=settings.time_zone,
        )
        await bridge.setup()
        worker = build_worker(
            client, settings.task_queue, graceful_shutdown_timeout=WORKER_SHUTDOWN_TIMEOUT
        )
        worker_task = asyncio.create_task(worker.run(), name="temporal-worker")
        bridge_task = asyncio.create_task(bridge.run(), name="event-bridge")
        log.info("worker started", task_queue=settings.task_queue)
        try:
            done, _ = await asyncio.wait(
                {worker_task, bridge_task}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                task.result()  # re-raise what stopped it
            raise RuntimeError(f"{', '.join(t.get_name() for t in done)} stopped unexpectedly")
        finally:
            bridge.stop()
            await asyncio.shield(_shut_down(bridge_task, worker_task, worker))
    finally:
        if not nc.is_closed:
            await asyncio.shield(nc.drain())
        log.info("worker stopped")


async def _shut_down(
    bridge_task: asyncio.Task[None],
    worker_task: asyncio.Task[None],
    worker: Worker,
) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(bridge_task), BRIDGE_STOP_TIMEOUT_SECONDS)
    except TimeoutError:
        bridge_task.cancel()
    except BaseException as err:  # the bridge failed: already being reported by serve
        log.debug("bridge ended with an error", error=repr(err))
    await worker.shutdown()
    await asyncio.gather(worker_task, bridge_task, return_exceptions=True)
