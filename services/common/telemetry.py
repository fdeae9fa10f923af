"""OpenTelemetry tracing setup for a Stride process."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor


def configure_tracing(process: str, exporter: str = "none") -> TracerProvider:
    """Install a tracer provider named after ``process``; exporter: none | console | otlp."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"stride-{process}"}))
    span_exporter: SpanExporter | None = None
    if exporter == "console":
        span_exporter = ConsoleSpanExporter()
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter()
    elif exporter != "none":
        raise ValueError(f"unknown STRIDE_OTEL_EXPORTER {exporter!r}: use none, console or otlp")
    if span_exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    return provider


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
    return [TracingInterceptor()]
