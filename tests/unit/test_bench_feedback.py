"""The 360 benchmark's report: its ratios, its targets and its table (no engines)."""

from __future__ import annotations

from rich.console import Console

from bench import __main__ as bench_main
from bench.feedback import Options, Result
from bench.feedback_report import feedback_targets, print_feedback
from bench.load import LoadResult


def load(ok: int, seconds: float, p95: float = 10.0) -> LoadResult:
    return LoadResult(ok, ok, {}, seconds, 5.0, 20.0, 30.0, 0.1, p95_ms=p95)


def test_ratios_and_targets() -> None:
    result = Result(
        Options(employees=680),
        680,
        679,
        12.0,
        {
            "answers": load(800, 10.0),  # 80/s
            "insert": load(6000, 10.0),  # 600/s
            "close": load(679, 5.0),
            "results": load(679, 6.79, p95=150.0),  # 100/s
            "select": load(20000, 10.0, p95=3.0),  # 2,000/s
        },
    )
    assert round(result.ratio("answers", "insert"), 3) == 0.133
    assert result.ratio("results", "select") == 0.05
    answers, results = feedback_targets(result)
    assert answers.measured == 80 and answers.target == 680 * 6 / 60 and answers.met
    assert results.measured == 150 and results.at_most and results.met
    console = Console(record=True, width=160)
    print_feedback(console, result)
    text = console.export_text()
    assert "answers / INSERT transactions: 0.133" in text and "p95 ms" in text


def test_feedback_is_a_benchmark_with_its_own_size() -> None:
    args = bench_main.parser().parse_args(["feedback", "--feedback-employees", "60"])
    assert args.benchmarks == ["feedback"] and args.feedback_employees == 60
    assert "feedback" in bench_main.BENCHMARKS
