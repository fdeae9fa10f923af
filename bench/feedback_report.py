"""What ``python -m bench feedback`` prints: the 360 phases beside their ceilings, and the
two figures beside their targets."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.table import Table

from bench.feedback import Options, Result, run
from bench.report import Target

# -- report -----------------------------------------------------------------------------------

LABELS = {
    "answers": "gateway PUT /feedback-rounds/{id}/answers",
    "insert": "asyncpg single-row INSERT transaction (ceiling)",
    "close": "feedback CloseRound over gRPC",
    "results": "gateway GET /feedback-rounds/{id}/results",
    "select": "asyncpg primary-key select (ceiling)",
}


def print_feedback(console: Console, result: Result) -> None:
    opts = result.options
    console.print(
        f"[bold]360 rounds[/bold]: {result.people:,} people, {result.rounds:,} rounds, "
        f"{opts.concurrency} in flight; seeding {result.seed_seconds:.1f} s"
    )
    table = Table(title="360 answers and results (same load generator, same run)")
    for column in ("phase", "ok", "errors", "per s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="left" if column in ("phase", "errors") else "right")
    for name, r in result.phases.items():
        table.add_row(
            LABELS[name],
            f"{r.ok:,}",
            ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "-",
            f"{r.per_second:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p95_ms:.1f}",
            f"{r.p99_ms:.1f}",
        )
    console.print(table)
    console.print(
        f"[bold]answers / INSERT transactions: {result.ratio('answers', 'insert'):.3f}; "
        f"results reads / point selects: {result.ratio('results', 'select'):.3f}[/bold]"
    )


def feedback_targets(result: Result) -> list[Target]:
    """A whole round's answers within a minute (about six per person); a results page read
    well inside a page load."""
    answers, results = result.phases["answers"], result.phases["results"]
    insert, select = result.phases["insert"], result.phases["select"]
    per_minute = result.people * 6 / 60
    return [
        Target(
            f"360 answers/s through the gateway ({result.people:,} people)",
            answers.per_second,
            per_minute,
            unit="/s",
            note=f"{result.ratio('answers', 'insert'):.3f} × {insert.per_second:,.0f} "
            "INSERT tx/s; target: the organisation's answers in a minute",
        ),
        Target(
            f"360 results p95 ({result.people:,}-person round set)",
            results.p95_ms,
            200,
            at_most=True,
            unit="ms",
            note=f"{results.per_second:,.0f}/s = {result.ratio('results', 'select'):.3f} × "
            f"{select.per_second:,.0f} point selects/s (p95 {select.p95_ms:.1f} ms)",
        ),
    ]


def main_run(console: Console, opts: Options) -> list[Target]:
    console.print(f"[bold]360 rounds[/bold] at {opts.employees:,} people …")
    result = asyncio.run(run(opts, console))
    print_feedback(console, result)
    return feedback_targets(result)
