"""OpenTelemetry in memory for tests: the process' global tracer and meter providers.

OpenTelemetry lets a process install its global providers once, so the first test that needs
them installs them for the rest of the session (:func:`recorder`). Spans are kept only while a
test listens (``with rec.spans() as spans``) so that later tests do not pile them up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common.telemetry import configure_metrics


class _Listening(SimpleSpanProcessor):
    def __init__(self, exporter: InMemorySpanExporter) -> None:
        super().__init__(exporter)
        self.listening = 0

    def on_end(self, span: ReadableSpan) -> None:
        if self.listening:
            super().on_end(span)


@dataclass
class Recorder:
    exporter: InMemorySpanExporter
    processor: _Listening
    reader: InMemoryMetricReader

    @contextmanager
    def spans(self) -> Iterator[InMemorySpanExporter]:
        self.processor.listening += 1
        try:
            yield self.exporter
        finally:
            self.processor.listening -= 1
            if not self.processor.listening:
                self.exporter.clear()

    def points(self, name: str) -> list[Any]:
        """Every data point of metric ``name`` collected now (all scopes and resources)."""
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def value(self, name: str, **attributes: Any) -> float:
        """Sum of the points of ``name`` whose attributes include ``attributes``."""
        return sum(
            getattr(p, "value", None) if hasattr(p, "value") else p.count
            for p in self.points(name)
            if attributes.items() <= dict(p.attributes or {}).items()
        )


@cache
def recorder() -> Recorder:
    exporter = InMemorySpanExporter()
    processor = _Listening(exporter)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider, "another tracer provider was installed first"
    reader = InMemoryMetricReader()
    configure_metrics("test", "none", readers=[reader])
    return Recorder(exporter, processor, reader)


def by_trace(spans: Sequence[ReadableSpan], trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and s.context.trace_id == trace_id]
