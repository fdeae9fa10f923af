"""``stride audit ...``: check the tamper-evident audit trail."""

from __future__ import annotations

import asyncio

import grpc
import typer
from rich.console import Console

from services.common.settings import StrideSettings
from stride.audit.v1 import audit_pb2, audit_pb2_grpc

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.callback()
def _group() -> None:
    """The audit trail (a group, also when it has a single command)."""


async def verify_remote(address: str) -> audit_pb2.VerifyAuditLogResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        return await stub.VerifyAuditLog(audit_pb2.VerifyAuditLogRequest(), timeout=300)


@audit_app.command("verify")
def verify_command() -> None:
    """Recompute the hash chain; exit 1 naming the first row that was edited or removed."""
    settings = StrideSettings()
    console = Console()
    try:
        result = asyncio.run(verify_remote(settings.identity_addr))
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]identity service at {settings.identity_addr}: {exc.details()}[/red]")
        raise typer.Exit(2) from exc
    if result.ok:
        console.print(f"[green]audit trail intact[/green]: {result.rows_checked} rows verified")
        return
    console.print(
        f"[red]audit trail broken at row {result.first_bad_seq}[/red]: {result.reason} "
        f"({result.rows_checked} rows checked)"
    )
    raise typer.Exit(1)
