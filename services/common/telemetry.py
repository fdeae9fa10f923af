"""OpenTelemetry setup for a Stride process: traces, metrics, the database and Temporal.

Exporters are chosen by ``STRIDE_OTEL_EXPORTER`` for traces and metrics alike: ``none``,
``console`` or ``otlp`` (the standard ``OTEL_EXPORTER_OTLP_*`` variables apply, e.g.
``OTEL_EXPORTER_OTLP_ENDPOINT``). See docs/observability.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

if TYPE_CHECKING:  # imported where used: the services that never talk to Temporal skip
    # the SDK (~50 MB resident).
    from temporalio.client import Interceptor
    from temporalio.runtime import Runtime

EXPORTERS = ("none", "console", "otlp")
# Where an OTLP exporter sends to when OTEL_EXPORTER_OTLP_ENDPOINT is unset (the SDK default).
DEFAULT_OTLP_ENDPOINT = "http://localhost:4317"
# How often metrics are exported (the OTel default is 60 s; OTEL_METRIC_EXPORT_INTERVAL wins).
METRIC_EXPORT_INTERVAL_MS = 15_000

__all__ = [
    "configure_metrics",
    "configure_tracing",
    "consumer_span",
    "instrument_engine",
    "suppress_instrumentation",
    "temporal_interceptors",
    "temporal_runtime",
]


def _check(exporter: str) -> None:
    if exporter not in EXPORTERS:
        raise ValueError(f"unknown STRIDE_OTEL_EXPORTER {exporter!r}: use none, console or otlp")


def _resource(process: str) -> Resource:
    return Resource.create({"service.name": f"stride-{process}"})


def tracer_provider(process: str, exporter: str = "none") -> TracerProvider:
    """A tracer provider named after ``process``; exporter: none | console | otlp.

    With ``none`` no span is recorded (spans would only be built to be dropped, ~10 % of a
    service's CPU on the check-in path): spans are non-recording, yet they still carry trace
    and span ids, so the trace context travels between processes and lands in logs and
    audit entries as before."""
    _check(exporter)
    sampler = ALWAYS_OFF if exporter == "none" else None
    provider = TracerProvider(resource=_resource(process), sampler=sampler)
    span_exporter: SpanExporter | None = None
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter()
    if span_exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    return provider


def configure_tracing(process: str, exporter: str = "none") -> TracerProvider:
    """Install :func:`tracer_provider` as the process' global tracer provider."""
    provider = tracer_provider(process, exporter)
    trace.set_tracer_provider(provider)
    return provider


def metric_readers(exporter: str) -> list[MetricReader]:
    """The periodic reader for ``exporter`` (none: no reader, nothing is collected)."""
    _check(exporter)
    metric_exporter: MetricExporter | None = None
    if exporter == "console":
        metric_exporter = ConsoleMetricExporter()
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        metric_exporter = OTLPMetricExporter()
    if metric_exporter is None:
        return []
    interval = float(os.environ.get("OTEL_METRIC_EXPORT_INTERVAL", METRIC_EXPORT_INTERVAL_MS))
    return [PeriodicExportingMetricReader(metric_exporter, export_interval_millis=interval)]


def configure_metrics(
    process: str, exporter: str = "none", readers: list[MetricReader] | None = None
) -> MeterProvider:
    """Install a meter provider named after ``process`` exporting to ``exporter``.

    ``readers`` are added to the exporter's (tests pass an InMemoryMetricReader).
    """
    all_readers = [*metric_readers(exporter), *(readers or [])]
    provider = MeterProvider(metric_readers=all_readers, resource=_resource(process))
    metrics.set_meter_provider(provider)
    if all_readers:
        _metrics_read.add(provider)
    return provider


# Meter providers installed by configure_metrics with at least one reader.
_metrics_read: set[MeterProvider] = set()


def otlp_endpoint() -> str:
    return (
        os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or DEFAULT_OTLP_ENDPOINT
    )


def temporal_runtime(
    process: str, exporter: str, *, periodicity: timedelta | None = None
) -> Runtime | None:
    """A Temporal SDK runtime exporting the SDK's metrics (workflow task latency, poll and
    schedule-to-start times, ...) by OTLP when ``exporter`` is ``otlp``; else None (the
    default runtime, no SDK metrics). The SDK (Rust core) exports them itself, over gRPC to
    OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT."""
    _check(exporter)
    if exporter != "otlp":
        return None
    from temporalio.runtime import OpenTelemetryConfig, Runtime, TelemetryConfig

    return Runtime(
        telemetry=TelemetryConfig(
            metrics=OpenTelemetryConfig(url=otlp_endpoint(), metric_periodicity=periodicity),
            global_tags={"service.name": f"stride-{process}"},
            attach_service_name=False,
        )
    )


@cache
def _db_connections() -> Any:
    return metrics.get_meter("stride.db").create_up_down_counter(
        name="db.client.connections.usage",
        unit="{connection}",
        description="Database connections by state (idle / used).",
    )


def recording() -> bool:
    """Whether anything records what instrumentation produces: a tracer provider that samples
    spans, or a meter provider with a reader. With ``STRIDE_OTEL_EXPORTER=none`` neither does,
    and instrumentation that makes nothing but spans and metrics is not installed."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider) and provider.sampler is not ALWAYS_OFF:
        return True
    meters = metrics.get_meter_provider()
    return isinstance(meters, MeterProvider) and meters in _metrics_read


def instrument_engine(engine: Any) -> None:
    """Database spans (one per statement, children of the current span) and pool metrics for
    ``engine`` (an AsyncEngine or Engine), when something records them (:func:`recording`:
    with no exporter a span per statement was ~5 % of goals' CPU on the check-in path).
    Code that polls (the outbox relay) runs its statements under
    :func:`suppress_instrumentation` so that idle polling makes no traces."""
    if not recording():
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    EngineTracer(
        trace.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
        getattr(engine, "sync_engine", engine),
        _db_connections(),
    )


@contextmanager
def consumer_span(subject: str, headers: Mapping[str, str] | None) -> Iterator[trace.Span]:
    """A CONSUMER span continuing the trace whose context travelled in the message headers."""
    parent = propagate.extract(dict(headers or {}))
    tracer = trace.get_tracer("stride.messaging")
    with tracer.start_as_current_span(
        f"{subject} process",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "nats",
            "messaging.destination.name": subject,
            "messaging.message.id": (headers or {}).get("Nats-Msg-Id", ""),
        },
    ) as span:
        yield span


def temporal_interceptors() -> list[Interceptor]:
    """Temporal client/worker interceptors that carry the trace into workflows and activities."""
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]
