"""Tracing without an exporter records nothing, yet the trace context still travels."""

from __future__ import annotations

from opentelemetry import propagate

from services.common.telemetry import tracer_provider


def test_without_an_exporter_spans_are_not_recorded_but_carry_ids() -> None:
    tracer = tracer_provider("goals", "none").get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        assert not span.is_recording()
        ctx = span.get_span_context()
        assert ctx.is_valid  # ids for logs and audit entries
        headers: dict[str, str] = {}
        propagate.inject(headers)
    assert headers["traceparent"].split("-")[1] == format(ctx.trace_id, "032x")


def test_a_remote_parent_keeps_its_trace_id_without_an_exporter() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    tracer = tracer_provider("goals", "none").get_tracer("test")
    context = propagate.extract({"traceparent": parent})
    with tracer.start_as_current_span("handler", context=context) as span:
        assert not span.is_recording()
        assert format(span.get_span_context().trace_id, "032x") == parent.split("-")[1]


def test_with_an_exporter_spans_are_recorded() -> None:
    provider = tracer_provider("goals", "console")
    try:
        with provider.get_tracer("test").start_as_current_span("request") as span:
            assert span.is_recording()
    finally:
        provider.shutdown()  # flushes to the console while pytest still captures it
