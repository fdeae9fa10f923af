"""``stride dashboards rebuild [--cycle <id>]``: recompute the dashboard read models of the
goals service from its tables (docs/reports.md#read-models)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from services.common import channels
from services.common.settings import StrideSettings
from stride.goals.v1 import goals_pb2 as pb
from stride.goals.v1 import goals_pb2_grpc

dashboards_app = typer.Typer(help="Dashboards: rebuild the read models.", no_args_is_help=True)


async def rebuild(address: str, cycle_id: str) -> pb.RebuildDashboardsResponse:
    async with channels.channel(address, actor="cli:dashboards-rebuild") as channel:
        goals = goals_pb2_grpc.GoalsServiceStub(channel)
        response: pb.RebuildDashboardsResponse = await goals.RebuildDashboards(
            pb.RebuildDashboardsRequest(cycle_id=cycle_id)
        )
        return response


@dashboards_app.command("rebuild")
def rebuild_command(
    cycle: Annotated[str, typer.Option("--cycle", help="One cycle (default: every cycle).")] = "",
    goals: Annotated[
        str | None,
        typer.Option("--goals", help="Goals gRPC address (default: STRIDE_GOALS_ADDR)."),
    ] = None,
) -> None:
    """Recompute the dashboards' per-department figures from the goals tables (the event
    stream keeps them up to date; this is for a new deployment or after repairs)."""
    done = asyncio.run(rebuild(goals or StrideSettings().goals_addr, cycle))
    Console().print(f"rebuilt {done.departments} department rows in {done.cycles} cycle(s)")
