"""``stride simulate factory``: realistic line events for demos and benchmarks
(:mod:`services.integrations.factory`), published to NATS ``telemetry.ingest.<line>.<metric>``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

simulate_app = typer.Typer(
    help="Simulators that publish telemetry samples (demos, benchmarks).",
    no_args_is_help=True,
)


@simulate_app.command()
def factory(
    lines: Annotated[int, typer.Option(help="Lines line-a, line-b, … (1-26).")] = 5,
    rate: Annotated[str, typer.Option(help="Samples per second in all: 200/s, 12000/min.")] = (
        "200/s"
    ),
    duration: Annotated[str, typer.Option(help="How long: 60s, 2m, 1h.")] = "60s",
    nats_url: Annotated[
        str | None, typer.Option("--nats", help="NATS URL (default: STRIDE_NATS_URL).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same values.")] = 1,
    run_id: Annotated[
        str, typer.Option(help="Prefix of the sample ids (default: the start time).")
    ] = "",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Publish line events (units, downtime, inspections, yield, cycle time) as samples."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from services.common import nats as stride_nats
    from services.common.settings import StrideSettings
    from services.integrations.factory import (
        FactorySimulator,
        parse_duration,
        parse_rate,
        simulate,
    )
    from services.integrations.publish import NoIngestStream

    console = Console(stderr=True)
    try:
        per_second = parse_rate(rate)
        seconds = parse_duration(duration)
        sim = FactorySimulator(
            lines,
            seed=seed,
            run_id=run_id or datetime.now(UTC).strftime("sim%Y%m%dT%H%M%S"),
        )
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
    url = nats_url or StrideSettings().nats_url
    total = round(per_second * seconds)

    async def run() -> None:
        nc = await stride_nats.connect(url, name="stride-simulator", wait=10)
        try:
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                disable=not progress,
            ) as bar:
                task = bar.add_task(f"{lines} lines → {url}", total=total)
                summary = await simulate(
                    nc.jetstream(),
                    sim,
                    rate=per_second,
                    duration=seconds,
                    on_progress=lambda sent: bar.update(task, completed=sent),
                )
        finally:
            await nc.drain()
        console.print(
            f"published {summary.published} samples ({summary.stored} new) in "
            f"{summary.seconds:.1f} s: {summary.published / max(summary.seconds, 1e-9):.0f}/s"
        )

    try:
        asyncio.run(run())
    except NoIngestStream as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
