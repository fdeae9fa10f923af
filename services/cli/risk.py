"""``stride risk backtest --cycle <id> [--rules FILE]``: which key results a rule set would
have escalated in a past (or running) cycle, and when (services/goals/backtest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import grpc
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.common import channels
from services.common.errors import InvalidArgument
from services.common.settings import StrideSettings
from services.goals import risk
from services.goals.backtest import Outcome, Replayed, backtest
from services.goals.evaluation import plan_of
from services.goals.messages import rule_set_from_pb
from services.goals.risk_rules import RuleSet, rule_set_from_json
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2 as pb
from stride.goals.v1 import goals_pb2_grpc

risk_app = typer.Typer(help="Risk rules: try one on a past cycle.", no_args_is_help=True)

GoalsOption = Annotated[
    str | None,
    typer.Option("--goals", help="Goals gRPC address (default: STRIDE_GOALS_ADDR)."),
]
PAGE_SIZE = 200


def replayed(item: pb.CycleKeyResultCheckIns, start: date, end: date) -> Replayed:
    kr = item.key_result
    checks = [(c.week, c.value) for c in item.check_ins]
    if kr.direction == pb.DIRECTION_STAY_WITHIN:
        band = risk.Band(kr.lower_bound, kr.upper_bound)
        return Replayed(kr.id, kr.department_id, None, band, checks)
    return Replayed(kr.id, kr.department_id, plan_of(kr, start, end), None, checks)


async def replay_cycle(
    address: str, cycle_id: str, rules: RuleSet | None, progress: Progress | None = None
) -> tuple[RuleSet, list[tuple[pb.KeyResult, Outcome]]]:
    """Backtest ``cycle_id`` against ``rules`` (None: the rules in force), a page at a time."""
    async with channels.channel(address, actor="cli:risk-backtest") as channel:
        goals = goals_pb2_grpc.GoalsServiceStub(channel)
        cycle = await goals.GetCycle(pb.GetCycleRequest(id=cycle_id))
        if rules is None:
            rules = rule_set_from_pb(await goals.GetRiskRules(pb.GetRiskRulesRequest()))
        start, end = date.fromisoformat(cycle.start_date), date.fromisoformat(cycle.end_date)
        task = progress.add_task("key results", total=None) if progress else None
        found: list[tuple[pb.KeyResult, Outcome]] = []
        token = ""
        while True:
            page = await goals.ListCycleCheckIns(
                pb.ListCycleCheckInsRequest(
                    cycle_id=cycle_id,
                    page=common_pb2.PageRequest(page_size=PAGE_SIZE, page_token=token),
                )
            )
            items = list(page.key_results)
            outcomes = backtest([replayed(i, start, end) for i in items], rules)
            found.extend(zip((i.key_result for i in items), outcomes, strict=True))
            if progress is not None and task is not None:
                progress.update(task, total=page.total, advance=len(items))
            token = page.page.next_page_token
            if not token:
                return rules, found


def print_outcomes(
    console: Console, rules: RuleSet, found: Sequence[tuple[pb.KeyResult, Outcome]]
) -> None:
    escalated = [(kr, o) for kr, o in found if o.escalations]
    table = Table(title=f"Would have escalated under rules {_rules_name(rules)}")
    for column in ("key result", "title", "department", "rule", "warning", "red", "back on track"):
        table.add_column(column)
    for kr, outcome in escalated:
        for e in outcome.escalations:
            rule = outcome.rule
            table.add_row(
                kr.id,
                kr.title,
                kr.department_id,
                f"{rule.threshold:.0%} × {rule.weeks} wk",
                e.warning_week,
                e.red_week or "-",
                e.resolved_week or "-",
            )
    console.print(table)
    red = sum(1 for _kr, o in escalated if any(e.red_week for e in o.escalations))
    console.print(
        f"{len(escalated)} of {len(found)} key results would have escalated ({red} to red)."
    )


def _rules_name(rules: RuleSet) -> str:
    base = f"{rules.default.threshold:.0%} behind × {rules.default.weeks} weeks"
    extra = f", {len(rules.overrides)} department overrides" if rules.overrides else ""
    return f"v{rules.version} ({base}{extra})" if rules.version else f"from file ({base}{extra})"


@risk_app.command("backtest")
def backtest_command(
    cycle: Annotated[str, typer.Option("--cycle", help="The cycle to replay.")],
    rules_file: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help='A rule set as JSON: {"threshold": 0.3, "weeks": 2, "overrides": '
            '[{"department_id": "...", "threshold": 0.1, "weeks": 3}]} (default: the rules '
            "in force).",
        ),
    ] = None,
    goals: GoalsOption = None,
) -> None:
    """Replay a cycle's check-ins against a rule set: which key results would have
    escalated, and in which weeks (warning, red, back on track)."""
    console = Console()
    address = goals or StrideSettings().goals_addr
    try:
        rules = rule_set_from_json(rules_file.read_text()) if rules_file else None
    except OSError as err:
        console.print(f"[red]cannot read {rules_file}: {err.strerror}[/red]")
        raise typer.Exit(2) from err
    except InvalidArgument as err:
        console.print(f"[red]{rules_file}: {err.message}[/red]")
        raise typer.Exit(2) from err
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
            used, found = asyncio.run(replay_cycle(address, cycle, rules, bar))
    except grpc.aio.AioRpcError as err:
        console.print(f"[red]goals service at {address}: {err.details()}[/red]")
        raise typer.Exit(1) from err
    print_outcomes(console, used, found)


@risk_app.command("schedule")
def schedule_command() -> None:
    """Create or update the weekly Schedule risk-sweep (Monday STRIDE_RISK_SWEEP_AT, 12:00 by
    default, in STRIDE_TIME_ZONE); the worker does this at start too."""
    from services.cli.exiting import connect_temporal
    from services.common.settings import WorkerSettings
    from services.worker.schedules import ensure_risk_sweep_schedule

    console = Console()
    settings = WorkerSettings()

    async def ensure() -> str | None:
        client = await connect_temporal(settings, identity="stride-risk-schedule")
        return await ensure_risk_sweep_schedule(client, settings)

    sid = asyncio.run(ensure())
    console.print(f"schedule: {sid}" if sid else "schedule: none (STRIDE_RISK_SWEEP_AT is empty)")


@risk_app.command("sweep")
def sweep_command(
    week: Annotated[
        str,
        typer.Option("--week", help="The ISO week to sweep, e.g. 2026-W48 (default: last week)."),
    ] = "",
) -> None:
    """Sweep a week now (risk-sweep/<week>): key results nobody checked in for that week are
    assessed with their last value carried forward; waits for the result and prints it."""
    from services.cli.exiting import connect_temporal
    from services.common.settings import WorkerSettings
    from services.goals.calendar import local_today, parse_week
    from services.goals.sweep import week_ended_before
    from services.worker.schedules import start_risk_sweep

    console = Console()
    settings = WorkerSettings()
    try:
        chosen = week or week_ended_before(local_today(datetime.now(UTC), settings.time_zone))
        parse_week(chosen)
    except InvalidArgument as err:
        console.print(f"[red]{err.message}[/red]")
        raise typer.Exit(2) from err

    async def run() -> object:
        client = await connect_temporal(settings, identity="stride-risk-sweep")
        handle = await start_risk_sweep(
            client,
            chosen,
            task_queue=settings.task_queue,
            time_zone=settings.time_zone,
            batch_size=settings.risk_sweep_batch_size,
        )
        console.print(f"started {handle.id}")
        return await handle.result()

    report = asyncio.run(run())
    console.print(report)
