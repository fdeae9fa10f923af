"""The telemetry benchmark's report: its ratio, its latency percentiles, its targets and its
table (no engines)."""

from __future__ import annotations

from rich.console import Console

from bench import __main__ as bench_main
from bench.telemetry import Options, Result, print_telemetry, telemetry_targets


def test_ratio_latency_and_targets() -> None:
    result = Result(
        Options(samples=1000),
        publish_per_s=20_000,
        committed=1000,
        service_per_s=3_000,
        raw_per_s=12_000,
        latencies=[0.2 + i / 100 for i in range(100)],  # 0.20 .. 1.19 s
    )
    assert result.ratio == 0.25
    assert round(result.latency_ms(50)) == 690 and round(result.latency_ms(99)) == 1180
    ratio, latency = telemetry_targets(result)
    assert (ratio.measured, ratio.target, ratio.met) == (0.25, 0.5, False)
    assert latency.at_most and latency.met and round(latency.measured) == 1180
    console = Console(record=True, width=160)
    print_telemetry(console, result)
    text = console.export_text()
    assert "service / raw consume: 0.250" in text and "p99 1180 ms" in text


def test_a_value_never_seen_misses_the_latency_target() -> None:
    result = Result(Options(), latencies=[0.1], missed=1)
    _, latency = telemetry_targets(result)
    assert not latency.met and "1 never seen" in latency.note


def test_telemetry_is_a_benchmark_with_its_own_size() -> None:
    args = bench_main.parser().parse_args(["telemetry", "--samples", "500"])
    assert args.benchmarks == ["telemetry"] and args.samples == 500
    assert "telemetry" in bench_main.BENCHMARKS
