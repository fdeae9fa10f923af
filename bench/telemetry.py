"""Telemetry: samples per second through the telemetry service next to raw JetStream
pull-consume + ack of the same messages, and sample → key result latency, in one run.

What runs (one machine, like the other benchmarks): a fresh PostgreSQL database, a private
nats-server, identity, goals, telemetry and the gateway as processes (``stride serve``); no
Temporal (nothing here starts a workflow).

Seeding over gRPC: a department, a person, a cycle that began a week ago, an objective with
``bound`` machine-fed key results; the metrics ``bench_rate`` and ``bench_latency``; one
binding of ``bench_rate`` (avg, day) and one binding of ``bench_latency`` (last, day) per
other key result, each from its own source.

Phases:

- **ingest**: ``samples`` samples (protobuf ``Sample``, ``Nats-Msg-Id`` = sample id, five
  sources) published pipelined to ``telemetry.ingest.<source>.bench_rate``; the rate is
  samples / (the last one committed − the first one published), "committed" read as the
  metric's sample count (QueryWindow count, cycle to date). The publishing alone is timed
  too: it must be well above the service's rate for the figure to mean the service.
- **raw**: the ceiling, measured the same way — the same payloads published the same way to a
  stream configured like TELEMETRY_INGEST while a pull consumer of the service's batch size,
  in its own process like the service's, takes and acknowledges each (what the service's
  consumer does before it parses, validates, stores and commits them); first publish → last
  acknowledgement. Both figures therefore include the publishing on the same two cores.
- **latency**: ``rounds`` rounds, one sample per bound key result each (value = the round),
  1.5 s apart (a quiet key result, as a machine reporting every few seconds sees it);
  latency = publish → the value visible in goals' GetKeyResult (polled every 20 ms); the
  push to goals is coalesced to one per key result per second, which is part of the figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
from nats.js.api import (
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from rich.console import Console
from rich.table import Table

from bench.load import percentile
from bench.report import Target
from bench.stack import REPO, Stack, benchmark_stack
from services.common.channels import channel
from services.common.nats import DUPLICATE_WINDOW_SECONDS, connect
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from stride.telemetry.v1 import telemetry_pb2 as pb
from stride.telemetry.v1 import telemetry_pb2_grpc

RATE_METRIC = "bench_rate"
LATENCY_METRIC = "bench_latency"
SOURCES = tuple(f"line-{c}" for c in "abcde")
# The telemetry service's default pull batch (TelemetrySettings.telemetry_batch_size).
BATCH = 500
ACTOR = (("x-stride-actor", "bench"),)


@dataclass(frozen=True)
class Options:
    samples: int = 60_000
    bound: int = 10  # key results bound to the latency metric
    rounds: int = 10
    log_level: str = "WARNING"
    # Longest wait for every sample to be committed / a value to show (seconds).
    timeout: float = 300.0


@dataclass
class Result:
    options: Options
    publish_per_s: float = 0.0
    committed: int = 0
    service_per_s: float = 0.0
    raw_per_s: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds
    missed: int = 0  # values never seen within the timeout

    @property
    def ratio(self) -> float:
        return self.service_per_s / self.raw_per_s if self.raw_per_s else 0.0

    def latency_ms(self, q: float) -> float:
        return percentile(sorted(self.latencies), q) * 1000


@dataclass
class Seeded:
    cycle_start: str
    latency_krs: list[str]  # index i is fed by source f"kr-{i}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _sample(source: str, metric: str, value: float, sample_id: str) -> pb.Sample:
    return pb.Sample(
        source=source, metric=metric, value=value, unit="", event_time=_now(), sample_id=sample_id
    )


def _rate_samples(opts: Options, run: str) -> list[pb.Sample]:
    return [
        _sample(SOURCES[i % len(SOURCES)], RATE_METRIC, float(i % 100), f"{run}-{i}")
        for i in range(opts.samples)
    ]


# -- seeding ------------------------------------------------------------------------------------


async def seed(stack: Stack, opts: Options) -> Seeded:
    async with (
        channel(stack.addr("identity")) as ich,
        channel(stack.addr("goals")) as gch,
        channel(stack.addr("telemetry")) as tch,
    ):
        identity = identity_pb2_grpc.IdentityServiceStub(ich)
        goals = goals_pb2_grpc.GoalsServiceStub(gch)
        telemetry = telemetry_pb2_grpc.TelemetryServiceStub(tch)
        tag = uuid.uuid4().hex[:6]
        dept = await identity.CreateDepartment(
            identity_pb2.CreateDepartmentRequest(name=f"Plant {tag}"), metadata=ACTOR
        )
        person = await identity.CreateEmployee(
            identity_pb2.CreateEmployeeRequest(
                employee_number=f"B{tag}",
                name="Line Lead",
                email=f"lead-{tag}@example.com",
                department_id=dept.id,
            ),
            metadata=ACTOR,
        )
        start = date.today() - timedelta(days=7)
        cycle = await goals.CreateCycle(
            goals_pb2.CreateCycleRequest(
                name=f"Bench {tag}",
                start_date=start.isoformat(),
                end_date=(start + timedelta(days=89)).isoformat(),
            ),
            metadata=ACTOR,
        )
        objective = await goals.CreateObjective(
            goals_pb2.CreateObjectiveRequest(
                cycle_id=cycle.id, title="Lines run well", owner_id=person.id
            ),
            metadata=ACTOR,
        )
        krs = []
        for i in range(opts.bound + 1):
            kr = await goals.CreateKeyResult(
                goals_pb2.CreateKeyResultRequest(
                    objective_id=objective.id,
                    title=f"Machine value {i}",
                    target=1_000_000,
                    data_source=goals_pb2.DATA_SOURCE_TELEMETRY,
                ),
                metadata=ACTOR,
            )
            krs.append(kr.id)
        for metric in (RATE_METRIC, LATENCY_METRIC):
            await telemetry.DefineMetric(
                pb.DefineMetricRequest(name=metric, defined_by="bench"), metadata=ACTOR
            )
        await telemetry.CreateBinding(
            pb.CreateBindingRequest(
                key_result_id=krs[0],
                metric=RATE_METRIC,
                aggregation=pb.AGGREGATION_AVG,
                window=pb.WINDOW_KIND_DAY,
                created_by="bench",
            ),
            metadata=ACTOR,
        )
        for i, kr_id in enumerate(krs[1:]):
            await telemetry.CreateBinding(
                pb.CreateBindingRequest(
                    key_result_id=kr_id,
                    metric=LATENCY_METRIC,
                    source=f"kr-{i}",
                    aggregation=pb.AGGREGATION_LAST,
                    window=pb.WINDOW_KIND_DAY,
                    created_by="bench",
                ),
                metadata=ACTOR,
            )
    # The count window starts a day before the cycle: whatever the org's date is now.
    return Seeded((start - timedelta(days=1)).isoformat(), krs[1:])


# -- phases -------------------------------------------------------------------------------------


async def _until(check: Callable[[], Awaitable[bool]], timeout: float, every: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every)
    return False


async def ingest_phase(stack: Stack, opts: Options, seeded: Seeded, result: Result) -> None:
    """Publish every sample pipelined; time until the service has committed them all."""
    nc = await connect(stack.config.nats_url)
    run = uuid.uuid4().hex[:8]
    payloads = [(f"telemetry.ingest.{s.source}.{s.metric}", s) for s in _rate_samples(opts, run)]
    query = pb.QueryWindowRequest(
        metric=RATE_METRIC,
        aggregation=pb.AGGREGATION_COUNT,
        window=pb.WINDOW_KIND_CYCLE_TO_DATE,
        cycle_start=seeded.cycle_start,
    )
    try:
        js = nc.jetstream()
        async with channel(stack.addr("telemetry")) as tch:
            telemetry = telemetry_pb2_grpc.TelemetryServiceStub(tch)

            async def committed() -> bool:
                value = await telemetry.QueryWindow(query, metadata=ACTOR, timeout=30)
                result.committed = int(value.count)
                return result.committed >= opts.samples

            start = time.perf_counter()
            acks = [
                await js.publish_async(
                    subject, s.SerializeToString(), headers={"Nats-Msg-Id": s.sample_id}
                )
                for subject, s in payloads
            ]
            await asyncio.gather(*acks)
            published = time.perf_counter()
            result.publish_per_s = opts.samples / (published - start)
            await _until(committed, opts.timeout, 0.05)
            result.service_per_s = result.committed / (time.perf_counter() - start)
    finally:
        await nc.close()


async def raw_phase(stack: Stack, opts: Options, result: Result) -> None:
    """The ceiling, measured like the service: the same payloads published the same way to a
    stream configured like TELEMETRY_INGEST (file storage, limits, the same duplicate window)
    while a pull consumer in its own process (bench/raw_consumer.py, the service's batch size)
    takes and acknowledges each; from the first publish to the last acknowledgement."""
    nc = await connect(stack.config.nats_url)
    name = f"BENCH_RAW_{uuid.uuid4().hex[:6].upper()}"
    subject = f"{name.lower()}.>"
    consumer: asyncio.subprocess.Process | None = None
    try:
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(
                name=name,
                subjects=[subject],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
            )
        )
        consumer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.raw_consumer",
            stack.config.nats_url,
            name,
            subject,
            str(opts.samples),
            str(BATCH),
            stdout=asyncio.subprocess.PIPE,
            cwd=REPO,
        )
        assert consumer.stdout is not None
        ready = await asyncio.wait_for(consumer.stdout.readline(), 60)
        assert ready.strip() == b"ready", ready
        payloads = _rate_samples(opts, f"raw-{uuid.uuid4().hex[:8]}")
        start = time.time()
        acks = [
            await js.publish_async(
                f"{name.lower()}.{s.source}.{s.metric}",
                s.SerializeToString(),
                headers={"Nats-Msg-Id": s.sample_id},
            )
            for s in payloads
        ]
        await asyncio.gather(*acks)
        done = (await asyncio.wait_for(consumer.stdout.readline(), opts.timeout)).split()
        assert done and done[0] == b"done", done
        result.raw_per_s = int(done[1]) / (float(done[2]) - start)
        await consumer.wait()
        await js.delete_stream(name)
    finally:
        if consumer is not None and consumer.returncode is None:
            consumer.kill()
            await consumer.wait()
        await nc.close()


async def latency_phase(stack: Stack, opts: Options, seeded: Seeded, result: Result) -> None:
    nc = await connect(stack.config.nats_url)
    try:
        js = nc.jetstream()
        async with channel(stack.addr("goals")) as gch:
            goals = goals_pb2_grpc.GoalsServiceStub(gch)
            for round_ in range(1, opts.rounds + 1):
                started = time.monotonic()
                sent: dict[str, float] = {}
                for i, kr_id in enumerate(seeded.latency_krs):
                    s = _sample(f"kr-{i}", LATENCY_METRIC, float(round_), f"lat-{round_}-{i}")
                    await js.publish(
                        f"telemetry.ingest.{s.source}.{s.metric}",
                        s.SerializeToString(),
                        headers={"Nats-Msg-Id": s.sample_id},
                    )
                    sent[kr_id] = time.perf_counter()
                pending = dict(sent)
                deadline = time.monotonic() + 10

                async def seen(kr_id: str, value: float = float(round_)) -> bool:
                    with contextlib.suppress(grpc.aio.AioRpcError):
                        kr = await goals.GetKeyResult(
                            goals_pb2.GetKeyResultRequest(id=kr_id), metadata=ACTOR, timeout=5
                        )
                        return bool(kr.current_value == value)
                    return False

                while pending and time.monotonic() < deadline:
                    checks = await asyncio.gather(*(seen(k) for k in pending))
                    now = time.perf_counter()
                    for kr_id, ok in zip(list(pending), checks, strict=True):
                        if ok:
                            result.latencies.append(now - pending.pop(kr_id))
                    await asyncio.sleep(0.02)
                result.missed += len(pending)
                await asyncio.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
    finally:
        await nc.close()


async def run_phases(stack: Stack, opts: Options, console: Console) -> Result:
    result = Result(opts)
    seeded = await seed(stack, opts)
    console.print(f"  ingest: {opts.samples:,} samples over NATS …")
    await ingest_phase(stack, opts, seeded, result)
    console.print("  raw JetStream pull + ack of the same messages …")
    await raw_phase(stack, opts, result)
    console.print(f"  latency: {opts.rounds} rounds × {opts.bound} key results …")
    await latency_phase(stack, opts, seeded, result)
    return result


async def run(opts: Options, console: Console) -> Result:
    with tempfile.TemporaryDirectory(prefix="stride-bench-telemetry-") as tmp:
        async with benchmark_stack(
            Path(tmp), opts.log_level, services=("goals", "telemetry")
        ) as stack:
            return await run_phases(stack, opts, console)


# -- report -------------------------------------------------------------------------------------


def print_telemetry(console: Console, result: Result) -> None:
    opts = result.options
    table = Table(title="Telemetry ingest (same messages, same run)")
    for column in ("phase", "samples", "per s"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    table.add_row("publish_async to JetStream (the load)", f"{opts.samples:,}",
                  f"{result.publish_per_s:,.0f}")  # fmt: skip
    table.add_row("telemetry service: published → committed", f"{result.committed:,}",
                  f"{result.service_per_s:,.0f}")  # fmt: skip
    table.add_row("raw JetStream: published → pulled + acked (ceiling)", f"{opts.samples:,}",
                  f"{result.raw_per_s:,.0f}")  # fmt: skip
    console.print(table)
    console.print(
        f"[bold]service / raw consume: {result.ratio:.3f}; sample → key result p50 "
        f"{result.latency_ms(50):.0f} ms, p90 {result.latency_ms(90):.0f} ms, p99 "
        f"{result.latency_ms(99):.0f} ms "
        f"({len(result.latencies)} values, {result.missed} never seen)[/bold]"
    )


def telemetry_targets(result: Result) -> list[Target]:
    return [
        Target(
            f"telemetry samples/s / raw JetStream consume ({result.options.samples:,})",
            result.ratio,
            0.5,
            note=f"{result.service_per_s:,.0f}/s vs {result.raw_per_s:,.0f}/s",
        ),
        Target(
            "sample → key result p99",
            result.latency_ms(99) if not result.missed else float("inf"),
            2000,
            at_most=True,
            unit="ms",
            note=f"p50 {result.latency_ms(50):.0f} ms; {len(result.latencies)} values"
            + (f", {result.missed} never seen" if result.missed else ""),
        ),
    ]


def main_run(console: Console, opts: Options) -> list[Target]:
    console.print(f"[bold]Telemetry[/bold]: {opts.samples:,} samples …")
    result = asyncio.run(run(opts, console))
    print_telemetry(console, result)
    return telemetry_targets(result)
