"""The Schedules integration-pull/<plugin>/<source> on a real Temporal dev server (the
time-skipping server has no schedules): created once per source, updated in place keeping an
operator's pause, and a triggered run publishes the plugin's samples to real NATS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.integrations import IntegrationActivities
from services.common.binaries import free_port
from services.integrations.discovery import discover
from services.integrations.schedules import ensure_pull_schedules
from services.integrations.testing import json_server
from services.integrations.watermarks import Watermarks
from services.integrations.worker import build_integrations_worker
from stride_crm_complaints.testing import FakeCrm
from tests.ingest_stream import arrived, fresh_ingest_stream
from workflows.calendar import rfc3339

SCHEDULE = "integration-pull/crm-complaints/complaints"
ROOT = Path(__file__).resolve().parents[2]


async def test_one_schedule_per_source_kept_idempotently_and_run_on_trigger(
    temporal_dev_env: WorkflowEnvironment, nats_url: str
) -> None:
    client = temporal_dev_env.client
    plugins = discover(["mes-oee", "crm-complaints"]).plugins
    queue = f"integrations-{uuid.uuid4()}"
    # Only the CRM is configured: the MES source gets no schedule, and the log says why.
    configured = {"STRIDE_PLUGIN_CRM_COMPLAINTS_BASE_URL": "http://crm.example"}
    done = await ensure_pull_schedules(client, plugins, queue, configured)
    assert done.unconfigured == {
        "integration-pull/mes-oee/lines": ["STRIDE_PLUGIN_MES_OEE_BASE_URL"]
    }
    with_urls = {**configured, "STRIDE_PLUGIN_MES_OEE_BASE_URL": "http://mes.example"}
    made = (await ensure_pull_schedules(client, plugins, queue, with_urls)).made
    try:
        assert sorted(made) == [SCHEDULE, "integration-pull/mes-oee/lines"]
        handle = client.get_schedule_handle(SCHEDULE)
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.id, action.task_queue) == (
            "IntegrationPullWorkflow",
            SCHEDULE,
            queue,
        )
        # The worker restarts: same schedules, an operator's pause kept.
        await handle.pause(note="CRM migration")
        assert (await ensure_pull_schedules(client, plugins, queue, with_urls)).made == made
        assert (await handle.describe()).schedule.state.paused
        await handle.unpause()

        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await fresh_ingest_stream(js)
            yesterday = datetime.now(UTC) - timedelta(days=1)
            crm = FakeCrm(
                complaints=[{"id": "c1", "received_at": rfc3339(yesterday)}],
                orders=[{"id": "o1", "shipped_at": rfc3339(yesterday)}],
            )
            watermarks = await Watermarks.open(js, f"test-{uuid.uuid4().hex[:8]}")
            with json_server(crm.route) as url:
                activities = IntegrationActivities(
                    plugins,
                    js,
                    watermarks,
                    environ={"STRIDE_PLUGIN_CRM_COMPLAINTS_BASE_URL": url},
                )
                async with build_integrations_worker(client, queue, activities.all()):
                    await handle.trigger()
                    deadline = time.monotonic() + 20
                    while not await watermarks.get("crm-complaints", "complaints"):
                        assert time.monotonic() < deadline, "the schedule did not pull"
                        await asyncio.sleep(0.1)
            samples = await arrived(js)
            # The backfill (7 days) reaches yesterday: 1 complaint, 1 order → 100 %.
            rate = [a for a in samples if a.subject == "telemetry.ingest.crm.complaint_rate"]
            assert [a.sample.value for a in rate] == [100.0]
            assert {a.sample.metric for a in samples} == {
                "complaints",
                "orders_shipped",
                "complaint_rate",
            }
        finally:
            await nc.drain()
    finally:
        for sid in made:
            await client.get_schedule_handle(sid).delete()


async def test_stride_worker_queue_integrations_schedules_the_installed_plugins(
    temporal_dev_env: WorkflowEnvironment, nats_url: str
) -> None:
    """The real process: finds both example plugins through their entry points, keeps their
    schedules on the configured task queue, answers its readiness probe, and stops cleanly on
    SIGTERM."""
    client = temporal_dev_env.client
    queue = f"integrations-{uuid.uuid4()}"
    health_port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT), str(ROOT / "protos"), *(str(p) for p in ROOT.glob("integrations/*/src"))]
        ),
        "STRIDE_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "STRIDE_NATS_URL": nats_url,
        "STRIDE_INTEGRATIONS_TASK_QUEUE": queue,
        "STRIDE_INTEGRATIONS_WATERMARK_BUCKET": f"test-{uuid.uuid4().hex[:8]}",
        "STRIDE_LOG_FORMAT": "json",
        "STRIDE_HEALTH_PORT": str(health_port),
        "STRIDE_PLUGIN_MES_OEE_BASE_URL": "http://127.0.0.1:9",
        "STRIDE_PLUGIN_CRM_COMPLAINTS_BASE_URL": "http://127.0.0.1:9",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "worker",
        "--queue",
        "integrations",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    schedules = [SCHEDULE, "integration-pull/mes-oee/lines"]
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                described = [await client.get_schedule_handle(s).describe() for s in schedules]
            except RPCError:
                assert proc.returncode is None, "the integrations worker exited"
                assert time.monotonic() < deadline, "no schedules from the integrations worker"
                await asyncio.sleep(0.2)
                continue
            if all(
                isinstance(d.schedule.action, ScheduleActionStartWorkflow)
                and d.schedule.action.task_queue == queue
                for d in described
            ):
                break
            await asyncio.sleep(0.2)
        # Its readiness probe: connected, and the worker on the integrations queue polling.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health_port}") as http:
            while (ready := await http.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, ready.text
                await asyncio.sleep(0.2)
        assert ready.json()["checks"] == {"temporal": "ok", "nats": "ok", "integrations": "ok"}
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, output.decode()
        log = output.decode()
        assert "integration plugins" in log and "mes-oee" in log and "crm-complaints" in log
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        for sid in schedules:
            with contextlib.suppress(RPCError):
                await client.get_schedule_handle(sid).delete()
