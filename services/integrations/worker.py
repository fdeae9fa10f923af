"""The integrations worker: ``stride worker --queue integrations`` (``stride serve
integrations``).

Finds the installed plugins (entry points ``stride.integrations``; a broken one is logged and
skipped), keeps one Temporal Schedule per source, and runs a Temporal worker on the
``integrations`` task queue with the pull workflow, the pull activity and the plugins' own
activities until cancelled. Samples go to NATS ``telemetry.ingest.>`` (the telemetry service's
stream TELEMETRY_INGEST; a pull fails and is retried while it does not exist).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from nats.aio.client import Client as NATS
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.integrations import IntegrationActivities
from services.common import nats as stride_nats
from services.common.telemetry import temporal_runtime
from services.common.temporal import connect as connect_temporal
from services.integrations.discovery import discover
from services.integrations.schedules import ensure_pull_schedules
from services.integrations.settings import IntegrationSettings
from services.integrations.watermarks import Watermarks
from services.worker.health import WorkerHealth, health_endpoint
from workflows.integration_pull import IntegrationPullWorkflow
from workflows.sandbox import RUNNER

log = structlog.get_logger(__name__)

CONNECT_WAIT_SECONDS = 60.0
WORKER_SHUTDOWN_TIMEOUT = timedelta(seconds=10)
WORKFLOWS: list[type] = [IntegrationPullWorkflow]


def build_integrations_worker(
    client: Client, task_queue: str, activities: Sequence[Callable[..., Any]], **kwargs: Any
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=list(activities),
        workflow_runner=RUNNER,
        **kwargs,
    )


async def serve(settings: IntegrationSettings) -> None:
    """``stride worker --queue integrations``: connect, run until cancelled; with
    ``health_port`` set, /healthz and /readyz meanwhile (ready once Temporal and NATS are
    connected and the worker polls)."""
    health = WorkerHealth(parts=("integrations",))
    async with health_endpoint(health, settings.health_host, settings.health_port):
        client = await connect_temporal(
            settings,
            identity="stride-integrations",
            wait=CONNECT_WAIT_SECONDS,
            runtime=temporal_runtime("integrations", settings.otel_exporter),
        )
        health.temporal = client
        nc = await stride_nats.connect(
            settings.nats_url, name="stride-integrations", wait=CONNECT_WAIT_SECONDS
        )
        health.nats = nc
        try:
            await run_integrations(client, nc, settings, health)
        finally:
            if not nc.is_closed:
                await asyncio.shield(nc.drain())


async def run_integrations(
    client: Client, nc: NATS, settings: IntegrationSettings, health: WorkerHealth
) -> None:
    """The plugins' schedules and the worker on their task queue, until cancelled (on its
    own connections, or inside ``stride serve worker`` with STRIDE_INTEGRATIONS_IN_WORKER)."""
    found = discover(settings.plugin_names())
    log.info(
        "integration plugins",
        loaded=sorted(found.plugins),
        skipped=sorted(found.broken),
    )
    js = nc.jetstream()
    watermarks = await Watermarks.open(
        js, settings.integrations_watermark_bucket, settings.nats_stream_replicas
    )
    if settings.integrations_schedules:
        try:
            done = await ensure_pull_schedules(
                client, found.plugins, settings.integrations_task_queue, os.environ
            )
            log.info("integration schedules", schedules=done.made, unconfigured=done.unconfigured)
        except RPCError as err:
            log.warning("could not create or update the pull schedules", error=str(err))
    activities = IntegrationActivities(
        found.plugins,
        js,
        watermarks,
        http_timeout=settings.integrations_http_timeout_seconds,
    )
    worker = build_integrations_worker(
        client,
        settings.integrations_task_queue,
        activities.all(),
        graceful_shutdown_timeout=WORKER_SHUTDOWN_TIMEOUT,
    )
    health.integrations = worker
    log.info("integrations worker started", task_queue=settings.integrations_task_queue)
    try:
        await worker.run()
    finally:
        log.info("integrations worker stopped")
