"""The telemetry service's API and its scheduler through real engines: coalescing bursts,
retrying while goals is down, window queries computed by the database, metric and binding
rules. SQLite, and PostgreSQL with STRIDE_TEST_DATABASE_URL set."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from services.common.binaries import free_port
from services.common.nats import TELEMETRY_STREAM, connect
from services.common.runtime import ServiceRuntime
from services.common.settings import TelemetrySettings
from services.goals import server as goals_server
from services.identity import server as identity_server
from services.telemetry import server as telemetry_server
from stride.goals.v1 import goals_pb2 as gpb
from stride.telemetry.v1 import telemetry_pb2 as pb
from tests.integration.goals_helpers import events
from tests.integration.services_fixtures import running, service_settings, telemetry_stack
from tests.integration.test_goals_service import code_of, rpc_error
from tests.integration.test_telemetry_ingest import Plant, _ago
from tests.integration.test_telemetry_ingest import plant as plant  # the fixture


@pytest.fixture
async def slow_plant(
    database_url: str | None, data_dir: Path, nats_url: str
) -> AsyncIterator[Plant]:
    """Pushes at most once a second (the default)."""
    async with telemetry_stack(
        database_url, data_dir, nats_url, telemetry_push_interval=1.0
    ) as stack:
        nc = await connect(nats_url)
        try:
            yield Plant(stack, nc)
        finally:
            await nc.drain()


async def test_a_burst_is_coalesced_to_about_one_update_per_second(
    slow_plant: Plant, nats_url: str
) -> None:
    plant = slow_plant
    metric = await plant.metric(f"parts_{plant.tag}", unit="")
    kr = await plant.key_result(target=10_000)
    await plant.bind(kr, metric, pb.AGGREGATION_COUNT)
    source = f"press-{plant.tag}"
    started = asyncio.get_running_loop().time()
    for i in range(200):
        await plant.publish(source, metric, 1, _ago(60 - i * 0.1), f"p{i}", unit="")
    await plant.until(lambda: plant.kr(kr.id), lambda k: k.current_value == 200, within=10)
    elapsed = asyncio.get_running_loop().time() - started
    recorded = await events(
        nats_url,
        "stride.goals.v1.checkin.recorded",
        gpb.CheckInRecorded,
        lambda e: e.key_result.id == kr.id,
        expected=1,
    )
    # 200 samples; at most one value per second reached goals (plus the first at once).
    assert 1 <= len(recorded) <= int(elapsed) + 2


async def test_values_wait_for_goals_to_come_back(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    """goals down (UNAVAILABLE): telemetry keeps the binding dirty and retries until it
    answers; the value is then exactly the window's."""
    prefix = f"tu{uuid.uuid4().hex[:8]}_"
    identity_rt = identity_server.runtime(
        service_settings(database_url, data_dir, nats_url, schema_prefix=prefix)
    )
    goals_port = free_port()

    def goals_rt() -> ServiceRuntime:
        return goals_server.runtime(
            service_settings(
                database_url,
                data_dir,
                nats_url,
                schema_prefix=prefix,
                identity_addr=f"127.0.0.1:{identity_rt.settings.grpc_port}",
            ).model_copy(update={"grpc_port": goals_port})
        )

    telemetry_rt = telemetry_server.runtime(
        TelemetrySettings(
            database_url=database_url,
            data_dir=data_dir,
            nats_url=nats_url,
            grpc_port=free_port(),
            schema_prefix=prefix,
            goals_addr=f"127.0.0.1:{goals_port}",
            telemetry_consumer=f"telemetry-{prefix}",
            telemetry_push_interval=0.2,
        )
    )

    class Stack:
        pass

    async with running(identity_rt) as identity_ch, running(telemetry_rt) as telemetry_ch:
        stack = Stack()
        stack.identity, stack.telemetry = identity_ch, telemetry_ch  # type: ignore[attr-defined]
        async with running(goals_rt()) as goals_ch:
            stack.goals = goals_ch  # type: ignore[attr-defined]
            plant = Plant(stack, await connect(nats_url))
            metric = await plant.metric(f"temp_{plant.tag}", unit="C")
            kr = await plant.key_result()
            await plant.bind(kr, metric, pb.AGGREGATION_MAX)
            await plant.publish(f"oven-{plant.tag}", metric, 60, _ago(3), "t0", unit="C")
            await plant.until(lambda: plant.kr(kr.id), lambda k: k.current_value == 60, within=10)
        # goals is down now.
        source = f"oven-{plant.tag}"
        await plant.publish(source, metric, 71, _ago(2), "t1", unit="C")
        await plant.publish(source, metric, 75, _ago(1), "t2", unit="C")
        await asyncio.sleep(1.0)
        async with running(goals_rt()) as goals_ch:
            stack.goals = goals_ch  # type: ignore[attr-defined]
            plant = Plant(stack, plant.nc)
            await plant.until(lambda: plant.kr(kr.id), lambda k: k.current_value == 75, within=10)
        await plant.nc.drain()


async def test_window_queries_are_computed_from_stored_samples(plant: Plant) -> None:
    complaints = await plant.metric(f"complaints_{plant.tag}", unit="")
    shipped = await plant.metric(f"shipped_{plant.tag}", unit="")
    latency = await plant.metric(f"latency_{plant.tag}", unit="ms")
    source = f"crm-{plant.tag}"
    samples = (
        [
            pb.Sample(
                source=source,
                metric=complaints,
                value=v,
                event_time=_ago(i + 5).isoformat(),
                sample_id=f"c{i}",
            )
            for i, v in enumerate((2, 1))
        ]
        + [
            pb.Sample(
                source=source,
                metric=shipped,
                value=v,
                event_time=_ago(i + 5).isoformat(),
                sample_id=f"s{i}",
            )
            for i, v in enumerate((100, 200))
        ]
        + [
            pb.Sample(
                source=source,
                metric=latency,
                unit="ms",
                value=v,
                event_time=_ago(i + 5).isoformat(),
                sample_id=f"l{i}",
            )
            for i, v in enumerate((15, 20, 35, 40, 50))
        ]
    )
    answer = await plant.telemetry.IngestSamples(pb.IngestSamplesRequest(samples=samples))
    assert answer.accepted == len(samples)

    async def query(metric: str, aggregation: int, **kw: object) -> pb.WindowValue:
        return await plant.telemetry.QueryWindow(
            pb.QueryWindowRequest(
                metric=metric,
                source=source,
                aggregation=aggregation,
                window=pb.WINDOW_KIND_DAY,
                **kw,
            )
        )

    ratio = await query(complaints, pb.AGGREGATION_RATIO, denominator_metric=shipped)
    assert ratio.value == pytest.approx(0.01) and not ratio.empty
    p90 = await query(latency, pb.AGGREGATION_PERCENTILE, percentile=90)
    assert p90.value == pytest.approx(46.0) and p90.count == 5
    for aggregation, value in (
        (pb.AGGREGATION_AVG, 32.0),
        (pb.AGGREGATION_MIN, 15.0),
        (pb.AGGREGATION_MAX, 50.0),
        (pb.AGGREGATION_LAST, 15.0),  # the newest by event time
    ):
        assert (await query(latency, aggregation)).value == pytest.approx(value)
    empty = await query(
        latency, pb.AGGREGATION_AVG, at=(datetime.now(UTC) - timedelta(days=3)).isoformat()
    )
    assert empty.empty and empty.count == 0
    cycle = await plant.telemetry.QueryWindow(
        pb.QueryWindowRequest(
            metric=latency,
            source=source,
            aggregation=pb.AGGREGATION_COUNT,
            window=pb.WINDOW_KIND_CYCLE_TO_DATE,
            cycle_start=(datetime.now(UTC) - timedelta(days=2)).date().isoformat(),
        )
    )
    assert cycle.count == 5
    # Bad queries are refused with a code, never a 500.
    for request, code in (
        (pb.QueryWindowRequest(metric=latency, aggregation=pb.AGGREGATION_AVG), "invalid_window"),
        (
            pb.QueryWindowRequest(
                metric="nope", aggregation=pb.AGGREGATION_AVG, window=pb.WINDOW_KIND_DAY
            ),
            "unknown_metric",
        ),
        (
            pb.QueryWindowRequest(
                metric=latency, aggregation=pb.AGGREGATION_RATIO, window=pb.WINDOW_KIND_DAY
            ),
            "invalid_denominator",
        ),
        (
            pb.QueryWindowRequest(
                metric=latency, aggregation=pb.AGGREGATION_AVG, window=pb.WINDOW_KIND_CYCLE_TO_DATE
            ),
            "invalid_cycle_start",
        ),
    ):
        err = await rpc_error(plant.telemetry.QueryWindow(request))
        assert (err.code(), code_of(err)) == (grpc.StatusCode.INVALID_ARGUMENT, code)


async def test_metrics_and_bindings_are_managed_with_audit_and_events(
    plant: Plant, nats_url: str
) -> None:
    name = await plant.metric(f"yield_{plant.tag}", interval=60)
    again = await plant.telemetry.DefineMetric(
        pb.DefineMetricRequest(
            name=name, unit="%", description="Line A", expected_interval_seconds=120
        )
    )
    assert again.expected_interval_seconds == 120 and again.description == "Line A"
    err = await rpc_error(
        plant.telemetry.DefineMetric(pb.DefineMetricRequest(name=name, unit="ppm"))
    )
    assert (err.code(), code_of(err)) == (grpc.StatusCode.FAILED_PRECONDITION, "unit_change")
    err = await rpc_error(plant.telemetry.DefineMetric(pb.DefineMetricRequest(name="Bad Name")))
    assert code_of(err) == "invalid_metric_name"
    listed = await plant.telemetry.ListMetrics(pb.ListMetricsRequest())
    assert name in [m.name for m in listed.metrics]
    err = await rpc_error(plant.telemetry.GetMetric(pb.GetMetricRequest(name="nope")))
    assert err.code() == grpc.StatusCode.NOT_FOUND

    kr = await plant.key_result()
    err = await rpc_error(plant.bind(kr, f"nope_{plant.tag}", pb.AGGREGATION_AVG))
    assert code_of(err) == "unknown_metric"
    err = await rpc_error(plant.bind(kr, name, pb.AGGREGATION_PERCENTILE))
    assert code_of(err) == "invalid_percentile"
    err = await rpc_error(
        plant.telemetry.CreateBinding(
            pb.CreateBindingRequest(
                key_result_id=str(uuid.uuid4()), metric=name, aggregation=1, window=1
            )
        )
    )
    assert code_of(err) == "unknown_key_result"
    binding = await plant.bind(kr, name, pb.AGGREGATION_AVG, window=pb.WINDOW_KIND_SHIFT)
    found = await plant.telemetry.ListBindings(pb.ListBindingsRequest(key_result_id=kr.id))
    assert [b.id for b in found.bindings] == [binding.id]
    deleted = await plant.telemetry.DeleteBinding(
        pb.DeleteBindingRequest(id=binding.id, deleted_by="hr-1")
    )
    assert deleted.id == binding.id
    err = await rpc_error(plant.telemetry.GetBinding(pb.GetBindingRequest(id=binding.id)))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    created = await events(
        nats_url,
        "stride.telemetry.v1.binding.created",
        pb.BindingCreated,
        lambda e: e.binding.id == binding.id,
        expected=1,
        stream=TELEMETRY_STREAM,
    )
    gone = await events(
        nats_url,
        "stride.telemetry.v1.binding.deleted",
        pb.BindingDeleted,
        lambda e: e.binding_id == binding.id,
        expected=1,
        stream=TELEMETRY_STREAM,
    )
    assert len(created) == 1 and len(gone) == 1 and gone[0].key_result_id == kr.id


async def test_ingest_samples_reports_each_rejection_and_dead_letters_it(plant: Plant) -> None:
    metric = await plant.metric(f"speed_{plant.tag}", unit="rpm")
    source = f"spindle-{plant.tag}"
    answer = await plant.telemetry.IngestSamples(
        pb.IngestSamplesRequest(
            samples=[
                pb.Sample(
                    source=source,
                    metric=metric,
                    unit="rpm",
                    value=1200,
                    event_time=_ago(1).isoformat(),
                    sample_id="ok",
                ),
                pb.Sample(
                    source=source,
                    metric=metric,
                    unit="rps",
                    value=20,
                    event_time=_ago(1).isoformat(),
                    sample_id="unit",
                ),
                pb.Sample(
                    source=source,
                    metric=metric,
                    unit="rpm",
                    value=float("nan"),
                    event_time=_ago(1).isoformat(),
                    sample_id="nan",
                ),
            ],
            received_via="http:key-1",
        )
    )
    assert answer.accepted == 1
    assert [(r.index, r.sample_id, r.reason) for r in answer.rejected] == [
        (1, "unit", "wrong_unit"),
        (2, "nan", "not_a_number"),
    ]
    letters = await plant.telemetry.ListDeadLetters(pb.ListDeadLettersRequest(reason="wrong_unit"))
    assert any(d.subject == "http" and d.reason == "wrong_unit" for d in letters.dead_letters)
    err = await rpc_error(
        plant.telemetry.IngestSamples(pb.IngestSamplesRequest(samples=[pb.Sample()] * 1001))
    )
    assert (err.code(), code_of(err)) == (grpc.StatusCode.INVALID_ARGUMENT, "too_many_samples")
    err = await rpc_error(plant.telemetry.ListDeadLetters(pb.ListDeadLettersRequest(reason="x")))
    assert code_of(err) == "invalid_reason"
