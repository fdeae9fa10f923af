"""What ``python -m bench`` prints: each benchmark's table, then every figure beside its
target (the issue's speed and memory targets; none is asserted in tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from bench.checkin import Result

# RecordCheckIn straight to goals over gRPC before the service shape (2,000 employees × 3
# KRs, 64 in flight); the target is twice that.
GOALS_RATE_BEFORE = 163.0


@dataclass(frozen=True)
class Target:
    """One measured figure and its target; ``at_most``: lower is better."""

    name: str
    measured: float
    target: float
    at_most: bool = False
    unit: str = ""
    note: str = ""

    @property
    def met(self) -> bool:
        return self.measured <= self.target if self.at_most else self.measured >= self.target

    def shown(self, value: float) -> str:
        text = f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"
        return f"{text} {self.unit}".strip()


def print_targets(console: Console, targets: list[Target]) -> None:
    table = Table(title="Targets (measured in this run)")
    for column in ("figure", "measured", "target", "", "note"):
        table.add_column(column, justify="right" if column in ("measured", "target") else "left")
    for t in targets:
        verdict = "[green]met[/]" if t.met else "[red]missed[/]"
        bound = ("≤ " if t.at_most else "≥ ") + t.shown(t.target)
        table.add_row(t.name, t.shown(t.measured), bound, verdict, t.note)
    console.print(table)


def checkin_targets(result: Result) -> list[Target]:
    size = f"{len(result.seeded.people):,} × {result.options.krs}"
    gateway, bare = result.phases["gateway"].load, result.phases["bare"].load
    targets = [
        Target(
            f"check-ins gateway / bare insert ({size})",
            result.ratio,
            0.35,
            note=f"{gateway.per_second:,.0f}/s vs {bare.per_second:,.0f}/s; aim 0.5",
        ),
        Target(
            f"check-in p99 at {result.options.concurrency} in flight ({size})",
            gateway.p99_ms,
            400,
            at_most=True,
            unit="ms",
        ),
    ]
    if "goals" in result.phases:
        goals = result.phases["goals"].load
        targets.append(
            Target(
                f"goals RecordCheckIn over gRPC ({size})",
                goals.per_second,
                2 * GOALS_RATE_BEFORE,
                unit="/s",
                note=f"2 × {GOALS_RATE_BEFORE:.0f}/s before",
            )
        )
    measured = [p for n, p in result.phases.items() if n != "bare"]
    checked_in = sum(p.check_ins for p in measured)
    sessions = sum(p.pg_sessions for p in measured)
    targets.append(
        Target(
            f"new PostgreSQL sessions per 1,000 check-ins, warm ({size})",
            sessions / max(checked_in, 1) * 1000,
            0,
            at_most=True,
            note=f"{sessions} sessions in {checked_in:,} check-ins",
        )
    )
    return targets


def relay_targets(results: dict[str, float]) -> list[Target]:
    return [
        Target(
            "outbox relay / raw publish_async",
            results["relay / publish_async ceiling"],
            0.5,
            note=f"{results['relay events/s']:,.0f} vs "
            f"{results['raw JetStream publish_async/s']:,.0f} events/s",
        )
    ]


def print_relay(console: Console, results: dict[str, float], events: int) -> None:
    table = Table(title=f"Outbox relay ({events:,} events)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in results.items():
        is_ratio = name.startswith("relay / ")
        table.add_row(name, f"{value:.2f}" if is_ratio else f"{value:,.0f}")
    console.print(table)


PROCESS_ORDER = ("gateway", "goals", "identity", "bare", "postgres", "load generator")


def print_checkin(console: Console, result: Result) -> None:
    opts, seeded = result.options, result.seeded
    load1, load5, _ = result.load_average
    console.print(
        f"[bold]Check-ins[/bold]: {len(seeded.people):,} employees × {opts.krs} KRs, "
        f"{opts.concurrency} in flight, week {result.week}; "
        f"{os.cpu_count()} CPUs, load average {load1:.1f} / {load5:.1f} at the start"
    )
    seed = seeded.seed_result
    console.print(
        f"seeding: org import {seeded.import_seconds:.1f} s; objectives + KRs through goals "
        f"gRPC {seeded.goals_seconds:.1f} s"
        + (f" ({seed.per_second * (1 + opts.krs):,.0f} calls/s)" if seed else "")
    )
    labels = {
        "gateway": "gateway POST /key-results/{id}/check-ins",
        "bare": "bare FastAPI + asyncpg INSERT (ceiling)",
        "goals": "goals RecordCheckIn over gRPC (no gateway)",
        "bulk": f"gateway POST /check-ins ({opts.krs} per request)",
    }
    table = Table(title="Check-in throughput (same load generator, same run)")
    columns = ("phase", "requests ok", "errors", "check-ins/s", "p50 ms", "p99 ms", "max ms")
    for column in columns:
        table.add_column(column, justify="left" if column in ("phase", "errors") else "right")
    for name, phase in result.phases.items():
        r = phase.load
        errors = ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "-"
        table.add_row(
            labels[name],
            f"{r.ok:,}",
            errors,
            f"{phase.check_ins_per_second:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.max_ms:.0f}",
        )
    console.print(table)
    console.print(f"[bold]gateway / bare ratio: {result.ratio:.3f}[/bold]")
    if "bulk" in result.phases:
        bulk = result.phases["bulk"].check_ins_per_second
        bare = result.phases["bare"].load.per_second
        console.print(
            f"phone screen (all of a person's key results in one request), check-ins / bare "
            f"inserts: {bulk / bare if bare else 0:.3f} (no target)"
        )

    cpu = Table(title="Where the time goes: CPU seconds per check-in (ms), by process")
    cpu.add_column("process")
    for name in result.phases:
        cpu.add_column(name, justify="right")
    cpu.add_column("peak RSS MB", justify="right")
    for proc in PROCESS_ORDER:
        cells = []
        for phase in result.phases.values():
            seconds = phase.cpu.get(proc)
            ok = max(phase.check_ins, 1)
            cells.append("-" if not seconds else f"{seconds / ok * 1000:.2f}")
        if all(c == "-" for c in cells):
            continue
        peak = result.peak_rss.get(proc)
        cpu.add_row(proc, *cells, f"{peak:.0f}" if peak else "-")
    cpu.add_row(
        "new PostgreSQL sessions / 1,000",
        *(f"{p.pg_sessions / max(p.check_ins, 1) * 1000:.0f}" for p in result.phases.values()),
        "",
    )
    console.print(cpu)
    if any(p.load.errors for n, p in result.phases.items() if n != "bare"):
        console.print("[red]Some check-ins failed: the figures above are not comparable.[/]")
