"""Both example plugins end to end, through the real engines: found through their entry
points, pulled by the integrations worker (the pull workflow on a Temporal dev server) from
stand-in MES and CRM servers over HTTP, their samples published to real NATS, stored by the
telemetry service, pushed to goals — the bound key results show the line's OEE and the
complaint rate — and, once HR archives the cycle, the owners' archive records carry them as
external metrics."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import nats
from temporalio.testing import WorkflowEnvironment

from activities.integrations import IntegrationActivities
from services.integrations.discovery import discover
from services.integrations.periods import parse_boundaries, period_start
from services.integrations.schedules import pull_input
from services.integrations.testing import json_server
from services.integrations.watermarks import Watermarks
from services.integrations.worker import build_integrations_worker
from stride.goals.v1 import goals_pb2 as gpb
from stride_crm_complaints.testing import FakeCrm
from stride_mes_oee.testing import FakeMes
from tests.integration.gateway_stack import GatewayStack, module_stack
from workflows import ids
from workflows.calendar import rfc3339
from workflows.integration_pull import IntegrationPullWorkflow, PullReport
from workflows.vocabulary import DEFAULT_TIME_ZONE

stack = module_stack("gw-plugins")


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def stand_ins(line: str, now: datetime) -> tuple[FakeMes, FakeCrm]:
    """The line's last completed shift: 6 h running, 2 h down, 720 parts of 27 s ideal cycle
    time, 684 good (OEE 0.75 × 0.9 × 0.95 = 64.125 %). Yesterday (org time): 1 complaint,
    50 orders shipped (2 %)."""
    shift_end = period_start(now, DEFAULT_TIME_ZONE, parse_boundaries("08:00,16:00,00:00"))
    shift = shift_end - timedelta(hours=8)
    stop = shift + timedelta(hours=6)
    today = period_start(now, DEFAULT_TIME_ZONE, parse_boundaries("00:00"))
    yesterday = today - timedelta(days=1)
    mes = FakeMes(
        intervals=[
            {"line": line, "state": "run", "start": rfc3339(shift), "end": rfc3339(stop)},
            {"line": line, "state": "downtime", "start": rfc3339(stop), "end": rfc3339(shift_end)},
        ],
        counts=[
            {"line": line, "at": rfc3339(shift + timedelta(hours=2)), "produced": 720,
             "good": 684, "ideal_cycle_time_s": 27.0}
        ],
    )  # fmt: skip
    crm = FakeCrm(
        complaints=[{"id": "c1", "received_at": rfc3339(yesterday + timedelta(hours=3))}],
        orders=[
            {"id": f"o{i}", "shipped_at": rfc3339(yesterday + timedelta(hours=1, minutes=6 * i))}
            for i in range(50)
        ],
    )
    return mes, crm


async def test_both_plugins_move_their_key_results_and_reach_the_archive(
    stack: GatewayStack, temporal_dev_env: WorkflowEnvironment, nats_url: str
) -> None:
    http = stack.http
    tag = uuid.uuid4().hex[:6]
    line, crm_source = f"line-{tag}", f"crm-{tag}"
    dept = await stack.department()
    hr = await stack.person(dept.id, roles=["hr"], name="HR")
    line_lead = await stack.person(dept.id, name="Line Lead")
    service_head = await stack.person(dept.id, name="Customer Service Head")
    today = date.today()
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Plugins {tag}",
            start_date=(today - timedelta(days=30)).isoformat(),
            end_date=(today + timedelta(days=60)).isoformat(),
        )
    )

    async def machine_fed(owner: str, title: str, metric: str, source: str) -> str:
        objective = await stack.goals.CreateObjective(
            gpb.CreateObjectiveRequest(cycle_id=cycle.id, title=title, owner_id=owner)
        )
        kr = await stack.goals.CreateKeyResult(
            gpb.CreateKeyResultRequest(
                objective_id=objective.id,
                title=title,
                target=85,
                data_source=gpb.DATA_SOURCE_TELEMETRY,
            )
        )
        binding = {"key_result_id": kr.id, "metric": metric, "source": source,
                   "aggregation": "last", "window": "cycle_to_date"}  # fmt: skip
        ok(await http.post("/telemetry/bindings", json=binding, headers=hr.headers), 201)
        return str(kr.id)

    # The plugins' metrics, as they declare them (name and unit).
    for name in ("oee", "availability", "performance", "quality", "complaint_rate"):
        metric = {"name": name, "unit": "%", "expected_interval_seconds": 8 * 3600}
        ok(await http.post("/telemetry/metrics", json=metric, headers=hr.headers), 201)
    for name in ("complaints", "orders_shipped"):
        metric = {"name": name, "unit": "", "expected_interval_seconds": 24 * 3600}
        ok(await http.post("/telemetry/metrics", json=metric, headers=hr.headers), 201)
    oee_kr = await machine_fed(line_lead.id, "Line OEE ≥ 85 %", "oee", line)
    rate_kr = await machine_fed(service_head.id, "Complaints ≤ 1 %", "complaint_rate", crm_source)

    found = discover()  # through the installed packages' entry points
    plugins = {n: found.plugins[n] for n in ("mes-oee", "crm-complaints")}
    client = temporal_dev_env.client
    queue = f"integrations-{uuid.uuid4()}"
    mes, crm = stand_ins(line, datetime.now(UTC))
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        watermarks = await Watermarks.open(js, f"test-{uuid.uuid4().hex[:8]}")
        with json_server(mes.route) as mes_url, json_server(crm.route) as crm_url:
            activities = IntegrationActivities(
                plugins,
                js,
                watermarks,
                environ={
                    "STRIDE_PLUGIN_MES_OEE_BASE_URL": mes_url,
                    "STRIDE_PLUGIN_CRM_COMPLAINTS_BASE_URL": crm_url,
                    "STRIDE_PLUGIN_CRM_COMPLAINTS_SOURCE_NAME": crm_source,
                },
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
    finally:
        await nc.drain()
    assert oee.by_metric == {"availability": 1, "oee": 1, "performance": 1, "quality": 1}
    assert complaints.by_metric.get("complaint_rate", 0) >= 1

    async def value_of(kr_id: str) -> float:
        return float(
            ok(await http.get(f"/key-results/{kr_id}", headers=hr.headers))["current_value"]
        )

    deadline = time.monotonic() + 20
    while (await value_of(oee_kr), await value_of(rate_kr)) != (64.125, 2.0):
        assert time.monotonic() < deadline, (await value_of(oee_kr), await value_of(rate_kr))
        await asyncio.sleep(0.2)
    history = ok(await http.get(f"/key-results/{oee_kr}/check-ins/history", headers=hr.headers))
    # Machine-fed, as the key result's history says.
    assert history["items"] and {v["recorded_by"] for v in history["items"]} == {"telemetry"}

    ok(await http.post(f"/cycles/{cycle.id}/archive", headers=hr.headers))

    async def external(person: str) -> dict[str, Any]:
        body = ok(await http.get(f"/archive/{person}", headers=hr.headers))
        (entry,) = [e for e in body["entries"] if e["record"]["cycle_id"] == cycle.id]
        return dict(entry["record"]["external_metrics"])

    line_figures = await external(line_lead.id)
    assert set(line_figures) == {f"oee@{line}"}
    assert line_figures[f"oee@{line}"]["value"] == 64.125
    assert line_figures[f"oee@{line}"]["key_result_id"] == oee_kr
    service_figures = await external(service_head.id)
    assert service_figures[f"complaint_rate@{crm_source}"]["value"] == 2.0
    assert await external(hr.id) == {}
