"""integration-pull/<plugin>/<source> on the time-skipping server with real NATS: both example
plugins, found through their entry points, pull from stand-in MES and CRM servers over HTTP and
their samples arrive on ``telemetry.ingest.<source>.<metric>`` exactly once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import nats
import pytest
from nats.aio.client import Client as Nats
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from activities.integrations import IntegrationActivities
from services.integrations.discovery import discover
from services.integrations.schedules import pull_input
from services.integrations.testing import json_server
from services.integrations.watermarks import Watermarks
from services.integrations.worker import build_integrations_worker
from stride_crm_complaints.testing import FakeCrm
from stride_mes_oee.testing import FakeMes
from tests.ingest_stream import arrived, fresh_ingest_stream
from workflows import ids
from workflows.calendar import rfc3339
from workflows.integration_pull import ERROR_PLUGIN, IntegrationPullWorkflow, PullReport

# 17:00 in Shanghai on 2 Dec 2026: the morning shift (08:00–16:00) and 1 December have ended.
NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
SHIFT = datetime(2026, 12, 2, 0, tzinfo=UTC)  # 08:00 Shanghai
DAY = datetime(2026, 11, 30, 16, tzinfo=UTC)  # 1 December, 00:00 Shanghai


def stand_ins() -> tuple[FakeMes, FakeCrm]:
    def t(base: datetime, hours: float) -> str:
        return rfc3339(base + timedelta(hours=hours))

    mes = FakeMes(
        intervals=[
            {"line": "line-a", "state": "run", "start": t(SHIFT, 0), "end": t(SHIFT, 6)},
            {"line": "line-a", "state": "downtime", "start": t(SHIFT, 6), "end": t(SHIFT, 8)},
        ],
        counts=[
            {
                "line": "line-a",
                "at": t(SHIFT, 2),
                "produced": 720,
                "good": 684,
                "ideal_cycle_time_s": 27.0,
            }
        ],
    )
    crm = FakeCrm(
        complaints=[{"id": "c1", "received_at": t(DAY, 3)}],
        orders=[{"id": f"o{i}", "shipped_at": t(DAY, 1 + i / 10)} for i in range(50)],
    )
    return mes, crm


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Nats]:
    conn = await nats.connect(nats_url)
    await fresh_ingest_stream(conn.jetstream())
    yield conn
    await conn.drain()


async def test_both_plugins_publish_once_and_resume_from_their_watermark(
    client: Client, nc: Nats
) -> None:
    found = discover()
    assert {"mes-oee", "crm-complaints"} <= found.plugins.keys()
    plugins = {n: found.plugins[n] for n in ("mes-oee", "crm-complaints")}
    js = nc.jetstream()
    watermarks = await Watermarks.open(js, f"test-{uuid.uuid4().hex[:8]}")
    await watermarks.put("mes-oee", "lines", rfc3339(SHIFT))  # earlier shifts were pulled
    await watermarks.put("crm-complaints", "complaints", rfc3339(DAY))
    mes, crm = stand_ins()
    queue = f"integrations-{uuid.uuid4()}"
    with json_server(mes.route) as mes_url, json_server(crm.route) as crm_url:
        activities = IntegrationActivities(
            plugins,
            js,
            watermarks,
            environ={
                "STRIDE_PLUGIN_MES_OEE_BASE_URL": mes_url,
                "STRIDE_PLUGIN_CRM_COMPLAINTS_BASE_URL": crm_url,
            },
            clock=lambda: NOW,
        )

        async def pull(plugin: str, source: str) -> PullReport:
            p = plugins[plugin]
            return await client.execute_workflow(
                IntegrationPullWorkflow.run,
                pull_input(p, p.source(source)),
                id=f"{ids.integration_pull(plugin, source)}-{uuid.uuid4().hex[:6]}",
                task_queue=queue,
            )

        async with build_integrations_worker(client, queue, activities.all()):
            oee = await pull("mes-oee", "lines")
            complaints = await pull("crm-complaints", "complaints")
            first = await arrived(js)
            # Nothing new since: the watermarks moved to the ends of what was pulled.
            assert (await pull("mes-oee", "lines")).published == 0
            assert (await pull("crm-complaints", "complaints")).published == 0
            # A pull retried after a crash before its watermark was saved sends the same ids:
            # JetStream stores nothing twice.
            await watermarks.put("mes-oee", "lines", rfc3339(SHIFT))
            assert (await pull("mes-oee", "lines")).published == 4
            assert len(await arrived(js)) == len(first)

    assert oee.by_metric == {"availability": 1, "oee": 1, "performance": 1, "quality": 1}
    assert oee.watermark_after == rfc3339(SHIFT + timedelta(hours=8))
    assert complaints.watermark_after == rfc3339(DAY + timedelta(days=1))  # 2 Dec is not over
    got = {(a.subject, a.sample.unit): a.sample.value for a in first}
    # 6 of 8 h running; 720 × 27 s = 5.4 h of ideal time in 6 h; 684 of 720 good.
    assert got[("telemetry.ingest.line-a.availability", "%")] == pytest.approx(75.0)
    assert got[("telemetry.ingest.line-a.performance", "%")] == pytest.approx(90.0)
    assert got[("telemetry.ingest.line-a.quality", "%")] == pytest.approx(95.0)
    assert got[("telemetry.ingest.line-a.oee", "%")] == pytest.approx(64.125)
    rates = [a for a in first if a.subject == "telemetry.ingest.crm.complaint_rate"]
    assert [r.sample.value for r in rates] == [pytest.approx(2.0)]  # 1 complaint, 50 orders
    assert all(a.msg_id == a.sample.sample_id for a in first)
    assert len({a.msg_id for a in first}) == len(first) == 4 + 3
    assert rates[0].sample.event_time == "2026-12-01T15:59:59Z"


async def test_a_plugin_missing_its_setting_fails_at_once(client: Client, nc: Nats) -> None:
    plugins = {"mes-oee": discover(["mes-oee"]).plugins["mes-oee"]}
    js = nc.jetstream()
    watermarks = await Watermarks.open(js, f"test-{uuid.uuid4().hex[:8]}")
    activities = IntegrationActivities(plugins, js, watermarks, environ={}, clock=lambda: NOW)
    queue = f"integrations-{uuid.uuid4()}"
    async with build_integrations_worker(client, queue, activities.all()):
        with pytest.raises(WorkflowFailureError) as failed:
            await client.execute_workflow(
                IntegrationPullWorkflow.run,
                pull_input(plugins["mes-oee"], plugins["mes-oee"].sources[0]),
                id=f"{ids.integration_pull('mes-oee', 'lines')}-{uuid.uuid4().hex[:6]}",
                task_queue=queue,
            )
    cause = failed.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, ApplicationError) and cause.cause.type == ERROR_PLUGIN
    assert "STRIDE_PLUGIN_MES_OEE_BASE_URL" in str(cause.cause)
    assert cause.retry_state is not None and cause.cause.non_retryable
    assert await arrived(js) == []
