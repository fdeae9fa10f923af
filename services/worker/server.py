"""Worker process: ``stride serve worker``.

Runs the Temporal worker (every workflow and activity in :mod:`services.worker.worker`) and the
event bridge (:mod:`services.worker.bridge`) side by side until cancelled. Cancellation is the
graceful shutdown: the bridge stops fetching and settles the batch in hand, then the worker
finishes its in-flight tasks, then the NATS connection is drained.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from services.common import metrics
from services.common import nats as stride_nats
from services.common.settings import WorkerSettings
from services.common.telemetry import temporal_runtime
from services.common.temporal import connect as connect_temporal
from services.identity.sync.schedules import ensure_org_sync_schedules
from services.worker.bridge import EventBridge, GoalsApprovals
from services.worker.health import WorkerHealth, health_endpoint
from services.worker.schedules import ensure_monthly_brief_schedule, ensure_risk_sweep_schedule
from services.worker.worker import activities_for, build_worker, ensure_search_attributes
from workflows.kr_escalation import LEVEL_NAMES, KrEscalationWorkflow
from workflows.search_attributes import STRIDE_RISK_LEVEL

log = structlog.get_logger(__name__)

# The stack starts Temporal, NATS and the worker concurrently: wait this long for them.
CONNECT_WAIT_SECONDS = 60.0
BRIDGE_STOP_TIMEOUT_SECONDS = 30.0
WORKER_SHUTDOWN_TIMEOUT = timedelta(seconds=10)


async def serve(settings: WorkerSettings) -> None:
    """Run the worker and the event bridge until cancelled, then shut both down gracefully.

    With ``health_port`` set, /healthz and /readyz are served from the start (not ready until
    Temporal and NATS are connected and both loops run).
    """
    health = WorkerHealth()
    if settings.integrations_in_worker:
        health.parts = (*health.parts, "integrations")
    async with health_endpoint(health, settings.health_host, settings.health_port):
        await _serve(settings, health)


async def _serve(settings: WorkerSettings, health: WorkerHealth) -> None:
    client = await connect_temporal(
        settings,
        identity="stride-worker",
        wait=CONNECT_WAIT_SECONDS,
        runtime=temporal_runtime("worker", settings.otel_exporter),
    )
    health.temporal = client
    try:
        await ensure_search_attributes(client)
    except RPCError as err:
        # A managed cluster may not let the worker register them; ops do it there
        # (`stride temporal setup`).
        log.warning("could not check or register search attributes", error=str(err))
    try:  # hourly org-sync/<source> schedules of STRIDE_ORG_SYNC_SOURCES (none by default)
        await ensure_org_sync_schedules(client, settings)
    except RPCError as err:
        log.warning("could not create or update the org sync schedules", error=str(err))
    try:  # the weekly risk-sweep schedule (STRIDE_RISK_SWEEP_AT, Monday 12:00 by default)
        await ensure_risk_sweep_schedule(client, settings)
    except RPCError as err:
        log.warning("could not create or update the risk sweep schedule", error=str(err))
    try:  # the month-end brief (STRIDE_MONTHLY_BRIEF_AT, 18:00 on the month's last working day)
        await ensure_monthly_brief_schedule(client, settings)
    except RPCError as err:
        log.warning("could not create or update the month-end brief schedule", error=str(err))
    nc = await stride_nats.connect(
        settings.nats_url, name="stride-worker", wait=CONNECT_WAIT_SECONDS
    )
    health.nats = nc
    gauges: asyncio.Task[None] | None = None
    approvals = GoalsApprovals(settings.goals_addr)
    try:
        bridge = EventBridge(
            nc.jetstream(),
            client,
            task_queue=settings.task_queue,
            consumer=settings.bridge_consumer,
            default_time_zone=settings.time_zone,
            # The same replica count as the services: setup updates the stream config.
            stream_replicas=settings.nats_stream_replicas,
            approval_pending=approvals.pending,
        )
        await bridge.setup()
        worker = build_worker(
            client,
            settings.task_queue,
            activities=activities_for(settings),
            graceful_shutdown_timeout=WORKER_SHUTDOWN_TIMEOUT,
            max_concurrent_workflow_tasks=settings.workflow_task_slots,
        )
        health.worker, health.bridge = worker, bridge
        worker_task = asyncio.create_task(worker.run(), name="temporal-worker")
        bridge_task = asyncio.create_task(bridge.run(), name="event-bridge")
        running = {worker_task, bridge_task}
        if settings.integrations_in_worker:
            from services.integrations.settings import IntegrationSettings
            from services.integrations.worker import run_integrations

            running.add(
                asyncio.create_task(
                    run_integrations(client, nc, IntegrationSettings(), health),
                    name="integrations-worker",
                )
            )
        if settings.escalation_metrics_interval > 0:
            gauges = asyncio.create_task(
                poll_escalation_levels(client, settings.escalation_metrics_interval),
                name="escalation-metrics",
            )
        log.info("worker started", task_queue=settings.task_queue)
        try:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise what stopped it
            raise RuntimeError(f"{', '.join(t.get_name() for t in done)} stopped unexpectedly")
        finally:
            bridge.stop()
            if gauges is not None:
                gauges.cancel()
            extra = running - {worker_task, bridge_task}
            for task in extra:  # the integrations worker shuts down gracefully on cancel
                task.cancel()
            await asyncio.shield(_shut_down(bridge_task, worker_task, worker))
            await asyncio.gather(*extra, return_exceptions=True)
    finally:
        await approvals.close()
        if not nc.is_closed:
            await asyncio.shield(nc.drain())
        log.info("worker stopped")


def escalation_level_query(level: str) -> str:
    """The visibility query counting running escalations at ``level`` (StrideRiskLevel)."""
    return (
        f"WorkflowType = '{KrEscalationWorkflow.__name__}' AND ExecutionStatus = 'Running' "
        f"AND {STRIDE_RISK_LEVEL.name} = '{level}'"
    )


async def poll_escalation_levels(client: Client, interval: float) -> None:
    """Refresh the ``stride.escalations.active`` gauge (per level) until cancelled."""
    while True:
        for level in LEVEL_NAMES[1:]:
            try:
                count = await client.count_workflows(escalation_level_query(level))
            except asyncio.CancelledError:
                raise
            except Exception as err:  # visibility unavailable: keep the last values
                log.debug("escalation count failed", level=level, error=str(err))
                continue
            metrics.ESCALATION_LEVELS.set(count.count, level=level)
        await asyncio.sleep(interval)


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
