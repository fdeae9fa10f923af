"""``stride audit ...``: check the tamper-evident audit trail."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import grpc
import typer
from rich.console import Console

from services.common import channels
from services.common.request_context import ACTOR_KEY
from services.common.settings import StrideSettings
from services.identity import audit_export
from stride.audit.v1 import audit_pb2, audit_pb2_grpc

# Who the audit trail names for calls made from the operator's machine.
CLI_ACTOR = "cli:audit"

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.callback()
def _group() -> None:
    """The audit trail (a group, also when it has a single command)."""


async def verify_remote(address: str) -> audit_pb2.VerifyAuditLogResponse:
    async with channels.channel(address) as channel:
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


def _time(value: str | None) -> str:
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an RFC 3339 time") from exc
    if parsed.tzinfo is None:
        raise typer.BadParameter(f"{value!r} needs a UTC offset (e.g. 2026-11-01T00:00:00+08:00)")
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def export_remote(
    address: str,
    request: audit_pb2.ListAuditEntriesRequest,
    write_csv: Callable[[str], object] | None,
) -> tuple[int, audit_export.XlsxExport | None]:
    """Read the matching entries: CSV text goes to ``write_csv`` as it comes; without it
    they are collected into an XLSX workbook. Returns (rows, workbook or None)."""
    metadata = ((ACTOR_KEY, CLI_ACTOR),)
    async with channels.channel(address) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)

        async def call(
            query: audit_pb2.ListAuditEntriesRequest,
        ) -> audit_pb2.ListAuditEntriesResponse:
            return await stub.ListAuditEntries(query, timeout=60, metadata=metadata)

        if write_csv is None:
            xlsx = audit_export.XlsxExport()
            async for page in audit_export.pages(call, request):
                xlsx.add(page)
            return xlsx.rows, xlsx
        rows = 0
        write_csv(audit_export.csv_header())
        async for page in audit_export.pages(call, request):
            write_csv("".join(audit_export.csv_line(audit_export.row(e)) for e in page))
            rows += len(page)
        return rows, None


@audit_app.command("export")
def export_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (CSV: default stdout).")
    ] = None,
    fmt: Annotated[Literal["csv", "xlsx"], typer.Option("--format")] = "csv",
    actor: Annotated[str, typer.Option(help="Only this actor.")] = "",
    action: Annotated[str, typer.Option(help="Only this action.")] = "",
    resource_type: Annotated[str, typer.Option(help="Only this resource type.")] = "",
    resource_id: Annotated[str, typer.Option(help="Only this resource id.")] = "",
    from_time: Annotated[str | None, typer.Option("--from", help="RFC 3339, inclusive.")] = None,
    to_time: Annotated[str | None, typer.Option("--to", help="RFC 3339, exclusive.")] = None,
) -> None:
    """Export the audit trail (the filters of GET /api/v1/audit), oldest first, as CSV or XLSX."""
    settings = StrideSettings()
    console = Console(stderr=True)
    if fmt == "xlsx" and output is None:
        raise typer.BadParameter("XLSX needs --output FILE", param_hint="--output")
    request = audit_pb2.ListAuditEntriesRequest(
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        from_time=_time(from_time),
        to_time=_time(to_time),
    )
    try:
        if fmt == "xlsx":
            assert output is not None
            rows, xlsx = asyncio.run(export_remote(settings.identity_addr, request, None))
            assert xlsx is not None
            output.write_bytes(xlsx.bytes())
        elif output is not None:
            with output.open("w", encoding="utf-8", newline="") as stream:
                rows, _ = asyncio.run(export_remote(settings.identity_addr, request, stream.write))
        else:
            rows, _ = asyncio.run(export_remote(settings.identity_addr, request, sys.stdout.write))
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]identity service at {settings.identity_addr}: {exc.details()}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"{rows} audit entries exported" + (f" to {output}" if output else ""))
