"""Tracing and metrics along the whole check-in path, against real engines in this process.

The gateway (FastAPI, through httpx's ASGI transport), the identity and goals runtimes (real
gRPC servers, real database, outbox relays), a private nats-server and the worker process'
``serve`` (event bridge + Temporal worker on the session's Temporal dev server) all run here,
with the process' OpenTelemetry providers recording in memory (tests/otel.py).

One check-in that puts a key result at risk must yield ONE trace: the gateway's HTTP span →
the goals gRPC client and server spans → database statements → the outbox relay's NATS publish
→ the event bridge's NATS consume → the Temporal signal-with-start → the workflow's run and
signal handling in the worker. The metrics the ops docs promise must move with it.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.common import metrics
from services.common.binaries import free_port
from services.common.logging import _add_trace_ids
from services.common.nats import connect, ensure_streams
from services.common.outbox import OutboxRelay
from services.common.settings import WorkerSettings
from services.common.telemetry import metric_readers, temporal_runtime
from services.goals.events import CHECKIN_RECORDED
from services.worker.server import serve
from services.worker.worker import build_worker
from tests.integration.gateway_stack import GatewayStack, gateway_stack
from tests.otel import Recorder, by_trace, recorder
from tests.outbox_helpers import scratch_outbox, write_events
from tests.waiting import eventually

CHECK_IN_ROUTE = "/api/v1/key-results/{key_result_id}/check-ins"
RECORD_CHECK_IN = "/stride.goals.v1.GoalsService/RecordCheckIn"


@dataclass
class Running:
    stack: GatewayStack
    worker: WorkerSettings
    health_url: str
    rec: Recorder


@pytest.fixture(scope="module")
async def running(
    database_url: str | None,
    nats_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[Running]:
    rec = recorder()
    target = temporal_dev_env.client.service_client.config.target_host
    data_dir: Path = tmp_path_factory.mktemp("observability")
    async with gateway_stack(database_url, data_dir, nats_url, temporal_address=target) as stack:
        settings = WorkerSettings(
            nats_url=nats_url,
            temporal_address=target,
            temporal_namespace=temporal_dev_env.client.namespace,
            task_queue=f"obs-{uuid.uuid4()}",
            bridge_consumer=f"obs-{uuid.uuid4().hex[:12]}",
            health_port=free_port(),
            escalation_metrics_interval=0.5,
            identity_addr=stack.settings.identity_addr,
            goals_addr=stack.settings.goals_addr,
        )
        worker = asyncio.create_task(serve(settings))
        health_url = f"http://127.0.0.1:{settings.health_port}"
        try:
            await _until_ready(health_url, worker)
            yield Running(stack, settings, health_url, rec)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)


async def _until_ready(url: str, worker: asyncio.Task[None], timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            if worker.done():
                worker.result()
                pytest.fail("the worker stopped")
            try:
                resp = await http.get(f"{url}/readyz")
                if resp.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert loop.time() < deadline, "worker never became ready"
            await asyncio.sleep(0.2)


def _week(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


@dataclass
class KeyResult:
    id: str
    path: str
    start: date
    admin: dict[str, str]


async def _key_result(stack: GatewayStack) -> KeyResult:
    dept = await stack.department()
    admin = await stack.person(dept.id, roles=["admin"], name="Admin")
    owner = await stack.person(dept.id, name="Owner", sign_in=False)
    h = admin.headers

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await stack.http.post(path, json=body, headers=h)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    start = date.today() - timedelta(weeks=8, days=date.today().weekday())
    cycle = await post(
        "/cycles",
        {
            "name": f"Obs {uuid.uuid4().hex[:6]}",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(weeks=13, days=-1)).isoformat(),
        },
    )
    objective = await post(
        "/objectives", {"cycle_id": cycle["id"], "title": "Traced", "owner_id": owner.id}
    )
    kr = await post(
        f"/objectives/{objective['id']}/key-results",
        {"title": "Spans", "owner_id": owner.id, "baseline": 0, "target": 100},
    )
    return KeyResult(kr["id"], f"/key-results/{kr['id']}/check-ins", start, h)


async def _check_in(running: Running, kr: KeyResult, value: float, week: int) -> dict[str, Any]:
    resp = await running.stack.http.post(
        kr.path,
        json={"value": value, "confidence": 3, "week": _week(kr.start + timedelta(weeks=week))},
        headers=kr.admin,
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _named(spans: list[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    found = [s for s in spans if s.name == name and s.kind == kind]
    assert found, f"no {kind.name} span {name!r} in {sorted((s.name, s.kind.name) for s in spans)}"
    return found[0]


async def test_one_check_in_is_one_trace_from_the_gateway_to_the_workflow(
    running: Running,
) -> None:
    kr = await _key_result(running.stack)
    first = await _check_in(running, kr, 1.0, 2)
    assert first["risk"]["status"] == "behind"
    with running.rec.spans() as exporter:
        second = await _check_in(running, kr, 2.0, 3)
        assert second["risk"]["status"] == "at_risk"
        (http,) = [
            s
            for s in exporter.get_finished_spans()
            if s.kind == SpanKind.SERVER
            and (s.attributes or {}).get("http.route") == CHECK_IN_ROUTE
        ]
        assert http.parent is None, "the gateway's request span is the root"
        trace_id = http.context.trace_id

        def whole_trace() -> list[ReadableSpan]:
            spans = by_trace(exporter.get_finished_spans(), trace_id)
            names = {s.name for s in spans}
            assert "HandleSignal:risk_assessed" in names, sorted(names)
            # Every span of the trace hangs off the gateway's span: one connected tree (a
            # span is exported when it ends, so a child can arrive before its parent: the
            # notification activity's statements before identity's RPC span).
            ids = {s.context.span_id for s in spans}
            orphans = [
                s.name
                for s in spans
                if s is not http and (s.parent is None or s.parent.span_id not in ids)
            ]
            assert not orphans, f"spans outside the tree: {orphans}"
            return spans

        spans = await eventually(whole_trace)

    grpc_client = _named(spans, RECORD_CHECK_IN, SpanKind.CLIENT)
    grpc_server = _named(spans, RECORD_CHECK_IN, SpanKind.SERVER)
    assert grpc_server.parent is not None
    assert grpc_server.parent.span_id == grpc_client.context.span_id
    # The database statements of the check-in are children of the goals server span.
    statements = [
        s
        for s in spans
        if s.kind == SpanKind.CLIENT and ({"db.system", "db.system.name"} & set(s.attributes or {}))
    ]
    in_goals = [
        s
        for s in statements
        if s.parent is not None and s.parent.span_id == grpc_server.context.span_id
    ]
    sql = [str((s.attributes or {}).get("db.statement", s.name)).upper() for s in in_goals]
    # (On PostgreSQL the check-in, its version, the key result and the outbox rows are one
    # statement: WITH ci AS (INSERT INTO check_ins ...) ...)
    assert any("INSERT INTO CHECK_INS" in q for q in sql), sql
    assert any("INSERT INTO OUTBOX" in q for q in sql), sql

    publish = _named(spans, f"{CHECKIN_RECORDED.subject} publish", SpanKind.PRODUCER)
    consume = _named(spans, f"{CHECKIN_RECORDED.subject} process", SpanKind.CONSUMER)
    assert consume.parent is not None and consume.parent.span_id == publish.context.span_id
    signal = _named(spans, "SignalWithStartWorkflow:KrEscalationWorkflow", SpanKind.CLIENT)
    assert signal.parent is not None and signal.parent.span_id == consume.context.span_id
    # In the worker: the workflow run and its signal handler, in the same trace.
    _named(spans, "RunWorkflow:KrEscalationWorkflow", SpanKind.SERVER)
    _named(spans, "HandleSignal:risk_assessed", SpanKind.SERVER)


async def test_metrics_move_with_a_check_in_and_its_event(running: Running) -> None:
    rec = running.rec
    consumer = running.worker.bridge_consumer

    def snapshot() -> dict[str, float]:
        return {
            "check_ins": rec.value(metrics.CHECK_INS_RECORDED),
            "published": rec.value(
                metrics.EVENTS_PUBLISHED, service="goals", subject=CHECKIN_RECORDED.subject
            ),
            "consumed": rec.value(
                metrics.EVENTS_CONSUMED, consumer=consumer, subject=CHECKIN_RECORDED.subject
            ),
            "escalated": rec.value(metrics.EVENTS_CONSUMED, consumer=consumer, outcome="escalated"),
            "rpc": rec.value(
                metrics.RPC_SERVER_DURATION,
                **{"rpc.method": "RecordCheckIn", "rpc.grpc.status_code": "OK"},
            ),
            # Old HTTP semantic conventions (the instrumentation's default) name the route
            # http.target; OTEL_SEMCONV_STABILITY_OPT_IN=http switches to the new names.
            # The instrumentation reports the route within the API router (no /api/v1).
            "http": sum(
                rec.value("http.server.duration", **{"http.target": route})
                + rec.value("http.server.request.duration", **{"http.route": route})
                for route in (CHECK_IN_ROUTE, CHECK_IN_ROUTE.removeprefix("/api/v1"))
            ),
        }

    before = snapshot()
    kr = await _key_result(running.stack)
    await _check_in(running, kr, 1.0, 2)
    await _check_in(running, kr, 2.0, 3)

    def moved() -> dict[str, float]:
        now = snapshot()
        delta = {k: now[k] - before[k] for k in now}
        assert delta["check_ins"] == 2, delta
        assert delta["rpc"] == 2, delta
        assert delta["http"] == 2, delta
        assert delta["published"] >= 2, delta  # other tests' check-ins may be relayed too
        assert delta["consumed"] >= 2, delta
        assert delta["escalated"] >= 1, delta
        return delta

    await eventually(moved)
    # A failed call is counted with its status code (goals finds no such key result).
    resp = await running.stack.http.post(
        "/key-results/no-such-kr/check-ins", json={"value": 1, "confidence": 3}, headers=kr.admin
    )
    assert resp.status_code == 404, resp.text
    assert (
        rec.value(
            metrics.RPC_SERVER_DURATION,
            **{"rpc.method": "RecordCheckIn", "rpc.grpc.status_code": "NOT_FOUND"},
        )
        >= 1
    )

    # Gauges: every running service reports its outbox; the escalation is counted at its level.
    backlog = {dict(p.attributes)["service"] for p in rec.points(metrics.OUTBOX_BACKLOG)}
    assert {"goals", "identity"} <= backlog
    assert all(p.value >= 0 for p in rec.points(metrics.OUTBOX_AGE))

    def escalation_counted() -> None:
        assert rec.value(metrics.ESCALATIONS_ACTIVE, level="warning") >= 1

    await eventually(escalation_counted)


async def test_worker_health_endpoint(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.health_url) as http:
        live = await http.get("/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "ok"})
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "checks": {"temporal": "ok", "nats": "ok", "worker": "ok", "bridge": "ok"},
        }
        assert (await http.get("/nope")).status_code == 404
        assert (await http.post("/readyz")).status_code == 405
        head = await http.head("/readyz")
        assert (head.status_code, head.content) == (200, b"")


def test_log_lines_carry_the_current_trace_and_span_ids() -> None:
    recorder()
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        line = _add_trace_ids(None, "info", {"event": "hello"})
    ctx = span.get_span_context()
    assert line["trace_id"] == format(ctx.trace_id, "032x")
    assert line["span_id"] == format(ctx.span_id, "016x")
    assert "trace_id" not in _add_trace_ids(None, "info", {"event": "outside"})


async def test_outbox_gauges_report_backlog_and_age_until_relayed(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    rec = recorder()
    service = f"gauge{uuid.uuid4().hex[:8]}"
    subject = f"stride.identity.v1.gaugetest.{service}"

    def series(name: str) -> list[float]:
        return [p.value for p in rec.points(name) if dict(p.attributes) == {"service": service}]

    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        async with scratch_outbox(database_url, data_dir, schema=service) as (sessions, table, pg):
            relay = OutboxRelay(sessions, table, js, lock_rows=pg, service=service)
            await write_events(sessions, table, 3, subject)
            poll = asyncio.create_task(relay.poll_metrics(0.1))
            try:

                def stuck() -> None:
                    assert series(metrics.OUTBOX_BACKLOG) == [3]
                    # created_at has whole seconds on SQLite: wait for a visible age.
                    assert series(metrics.OUTBOX_AGE)[0] >= 1.0

                await eventually(stuck)
                assert await relay.relay_once() == 3
                assert rec.value(metrics.EVENTS_PUBLISHED, service=service, subject=subject) == 3

                def drained() -> None:
                    assert series(metrics.OUTBOX_BACKLOG) == [0]
                    assert series(metrics.OUTBOX_AGE) == [0.0]

                await eventually(drained)
            finally:
                poll.cancel()
                await asyncio.gather(poll, return_exceptions=True)
            # A stopped relay reports nothing rather than a stale value.
            assert series(metrics.OUTBOX_BACKLOG) == []
    finally:
        await nc.close()


class _Collector(metrics_service_pb2_grpc.MetricsServiceServicer):
    """A minimal OTLP/gRPC metrics receiver: remembers the metric names it was sent."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}

    async def Export(
        self, request: metrics_service_pb2.ExportMetricsServiceRequest, context: Any
    ) -> metrics_service_pb2.ExportMetricsServiceResponse:
        for rm in request.resource_metrics:
            service = next(
                (a.value.string_value for a in rm.resource.attributes if a.key == "service.name"),
                "",
            )
            for sm in rm.scope_metrics:
                self.names.setdefault(service, set()).update(m.name for m in sm.metrics)
        return metrics_service_pb2.ExportMetricsServiceResponse()


async def test_otlp_exporter_sends_stride_and_temporal_sdk_metrics(
    temporal_dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = _Collector()
    server = grpc.aio.server()
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    try:
        # Stride's own metrics: the reader STRIDE_OTEL_EXPORTER=otlp installs.
        (reader,) = metric_readers("otlp")
        provider = MeterProvider(metric_readers=[reader], resource=Resource({"service.name": "t"}))
        provider.get_meter("stride").create_counter(metrics.CHECK_INS_RECORDED).add(1)
        await asyncio.to_thread(provider.force_flush)
        await asyncio.to_thread(provider.shutdown)
        assert metrics.CHECK_INS_RECORDED in collector.names.get("t", set())

        # Temporal SDK metrics: a worker on a client with the OTLP runtime.
        runtime = temporal_runtime("worker", "otlp", periodicity=timedelta(milliseconds=200))
        assert runtime is not None
        assert temporal_runtime("worker", "none") is None
        target = temporal_dev_env.client.service_client.config.target_host
        client = await Client.connect(target, runtime=runtime)
        async with build_worker(client, f"otlp-{uuid.uuid4()}"):

            def sdk_metrics() -> None:
                names = collector.names.get("stride-worker", set())
                assert any(n.startswith("temporal_") for n in names), collector.names

            await eventually(sdk_metrics)
        # The SDK runtime exports until it is garbage: drop it before the collector goes.
        del client, runtime
        gc.collect()
    finally:
        await server.stop(None)


async def test_worker_is_live_but_not_ready_until_temporal_answers(nats_url: str) -> None:
    settings = WorkerSettings(
        nats_url=nats_url,
        temporal_address=f"127.0.0.1:{free_port()}",  # nothing listens there
        health_port=free_port(),
    )
    worker = asyncio.create_task(serve(settings))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.health_port}") as http:

            async def answered() -> httpx.Response:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 20
                while True:
                    try:
                        return await http.get("/readyz")
                    except httpx.TransportError:
                        assert loop.time() < deadline, "no health endpoint"
                        await asyncio.sleep(0.1)

            ready = await answered()
            assert ready.status_code == 503
            body = ready.json()
            assert body["status"] == "not_ready"
            assert body["checks"]["temporal"] == "not connected"
            assert body["checks"]["bridge"] == "not started"
            assert (await http.get("/healthz")).status_code == 200
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
