"""``stride org ...``: import the organisation from a file, sync it from a source, reports.

- ``stride org import FILE [--dry-run]``: CSV/XLSX → identity directly (plan, then every
  batch with a progress bar), then the report. Columns: docs/org-sync.md.
- ``stride org sync [SOURCE] [--dry-run]``: starts the ``org-sync/<source>`` workflow on
  Temporal (the one already running, if any) and waits for its report.
- ``stride org report RUN_ID`` / ``stride org runs``: what a sync did (from identity).
- ``stride org schedules``: create or update the hourly Schedules of the configured sources.
- ``stride org invite --all -o slips.xlsx``: one-time initial passwords for imported people.

Printing a report: ``services.cli.org_report``.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import grpc
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.cli.exiting import connect_temporal
from services.cli.org_report import print_counts, print_people, print_report
from services.common import channels
from services.common.request_context import ACTOR_KEY
from services.common.settings import StrideSettings, WorkerSettings
from services.identity.invitation_slips import slips_xlsx
from services.identity.sync.client import OrgSyncClient
from services.identity.sync.connectors import (
    FileConnector,
    SourceError,
    configured_sources,
)
from stride.identity.v1 import auth_pb2, auth_pb2_grpc, org_sync_pb2_grpc
from stride.identity.v1 import org_sync_pb2 as pb

if TYPE_CHECKING:
    from workflows.org_sync import OrgSyncReport

org_app = typer.Typer(help="The organisation: import and sync it.", no_args_is_help=True)

IdentityOption = Annotated[
    str | None,
    typer.Option("--identity", help="Identity gRPC address (default: STRIDE_IDENTITY_ADDR)."),
]


async def import_file(
    path: Path,
    address: str,
    *,
    dry_run: bool = False,
    batch_size: int = 0,
    allow_mass_deactivation: bool = False,
    console: Console | None = None,
    run_id: str = "",
) -> pb.OrgSyncReport:
    """What ``stride org import`` does: read, plan, apply batch by batch with a progress bar."""
    console = console or Console()
    snapshot = await FileConnector(path).fetch()
    console.print(
        f"{path.name}: {len(snapshot.people)} people, {len(snapshot.departments)} departments"
    )
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("planning", total=None)

        def planned(report: pb.OrgSyncReport) -> None:
            description = "dry run" if report.dry_run else "applying batches"
            progress.update(task, description=description, total=report.batch_count or 1)
            if report.dry_run or report.batch_count == 0:
                progress.update(task, completed=report.batch_count or 1)

        def batch_done(done: pb.ApplyOrgSyncBatchResponse) -> None:
            progress.update(task, completed=done.batches_applied)

        async with OrgSyncClient(address, source="file") as client:
            return await client.sync(
                snapshot,
                run_id=run_id,
                dry_run=dry_run,
                batch_size=batch_size,
                allow_mass_deactivation=allow_mass_deactivation,
                on_planned=planned,
                on_batch=batch_done,
            )


def _fail(console: Console, message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


@org_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX file, one row per person.")],
    dry_run: Annotated[bool, typer.Option(help="Report what would change; write nothing.")] = False,
    batch_size: Annotated[int, typer.Option(help="Operations per transaction.")] = 200,
    allow_mass_deactivation: Annotated[
        bool, typer.Option(help="Allow deactivating more than half of the active people.")
    ] = False,
    identity: IdentityOption = None,
) -> None:
    """Import the organisation from a file (people missing from it are deactivated)."""
    console = Console()
    address = identity or StrideSettings().identity_addr
    run_id = str(uuid.uuid4())
    try:
        report = asyncio.run(
            import_file(
                file,
                address,
                dry_run=dry_run,
                batch_size=batch_size,
                allow_mass_deactivation=allow_mass_deactivation,
                console=console,
                run_id=run_id,
            )
        )
    except SourceError as err:
        raise _fail(console, str(err)) from err
    except grpc.aio.AioRpcError as err:
        refused = asyncio.run(_report_rows(address, run_id)) if _refused(err) else None
        if refused is not None:  # who the refused import would have deactivated
            print_people(console, refused)
        raise _fail(console, f"identity service at {address}: {err.details()}") from err
    print_report(console, report)


def _refused(err: grpc.aio.AioRpcError) -> bool:
    return err.code() == grpc.StatusCode.FAILED_PRECONDITION


async def _run_workflow(
    settings: WorkerSettings, source: str, dry_run: bool
) -> tuple[OrgSyncReport | None, str]:
    from temporalio.client import WorkflowFailureError

    from services.identity.sync.schedules import start_org_sync

    client = await connect_temporal(settings, identity="stride-org-sync")
    handle = await start_org_sync(client, source, task_queue=settings.task_queue, dry_run=dry_run)
    try:
        return await handle.result(), ""
    except WorkflowFailureError as err:
        cause = err.cause
        return None, str(getattr(cause, "message", None) or cause or err)


async def _report_rows(address: str, run_id: str) -> pb.OrgSyncReport | None:
    try:
        async with channels.channel(address) as channel:
            stub = org_sync_pb2_grpc.OrgSyncServiceStub(channel)
            return await stub.GetOrgSyncReport(
                pb.GetOrgSyncReportRequest(run_id=run_id), timeout=10
            )
    except grpc.aio.AioRpcError:
        return None


@org_app.command("sync")
def sync_command(
    source: Annotated[
        str | None, typer.Argument(help="Source name (default: the only configured one).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Report what would change; write nothing.")] = False,
) -> None:
    """Sync the organisation from a source now, through the org-sync workflow."""
    console = Console()
    settings = WorkerSettings()
    if source is None:
        sources = configured_sources(settings)
        if len(sources) != 1:
            raise _fail(
                console,
                "name the source: "
                + (", ".join(sources) if sources else "none configured (STRIDE_ORG_SYNC_SOURCES)"),
            )
        source = sources[0]
    console.print(f"syncing from {source}{' (dry run)' if dry_run else ''} …")
    report, error = asyncio.run(_run_workflow(settings, source, dry_run))
    if report is None:
        raise _fail(console, f"org sync from {source} failed: {error}", 1)
    print_counts(console, report.counts, f"org sync · {source} · {report.status}")
    if report.rejected_reasons:
        reasons = ", ".join(f"{code} × {n}" for code, n in report.rejected_reasons.items())
        console.print(f"rejected: {reasons}")
    detail = asyncio.run(_report_rows(settings.identity_addr, report.run_id))
    if detail is not None:  # row by row: who is (would be) deactivated, who was rejected
        print_report(console, detail)
    elif report.dry_run:
        console.print("[yellow]dry run: nothing was written[/yellow]")


@org_app.command("report")
def report_command(run_id: str, identity: IdentityOption = None) -> None:
    """Show what a sync run did, row by row."""
    console = Console()
    address = identity or StrideSettings().identity_addr

    async def get() -> pb.OrgSyncReport:
        async with OrgSyncClient(address, source="cli") as client:
            return await client.report(run_id)

    try:
        report = asyncio.run(get())
    except grpc.aio.AioRpcError as err:
        raise _fail(console, f"identity service at {address}: {err.details()}") from err
    print_report(console, report, max_rows=10_000)
    changed = [r for r in report.rows if r.action not in ("rejected",)]
    if changed:
        table = Table(title=f"changes ({len(changed)})", title_justify="left")
        for column in ("row", "kind", "key", "action", "fields"):
            table.add_column(column)
        for r in changed:
            table.add_row(str(r.row or ""), r.kind, r.key, r.action, ", ".join(r.changed_fields))
        console.print(table)


@org_app.command("runs")
def runs_command(limit: int = 20, identity: IdentityOption = None) -> None:
    """The latest sync runs."""
    console = Console()
    address = identity or StrideSettings().identity_addr

    async def get() -> pb.ListOrgSyncRunsResponse:
        async with channels.channel(address) as channel:
            stub = org_sync_pb2_grpc.OrgSyncServiceStub(channel)
            return await stub.ListOrgSyncRuns(pb.ListOrgSyncRunsRequest(limit=limit), timeout=10)

    try:
        runs = asyncio.run(get()).runs
    except grpc.aio.AioRpcError as err:
        raise _fail(console, f"identity service at {address}: {err.details()}") from err
    table = Table(title="org sync runs", title_justify="left")
    columns = ("started", "run", "source", "status", "created", "moved", "left", "rejected")
    for column in (*columns, "who left (would leave)", "error"):
        table.add_column(column)
    for r in runs:
        c = r.counts
        who = ", ".join(f"{d.key} {d.name}" for d in r.deactivations[:5])
        if c.deactivated > 5:
            who += f" … +{c.deactivated - 5}"
        table.add_row(
            r.planned_at,
            r.run_id,
            r.source,
            r.status,
            str(c.created),
            str(c.moved),
            str(c.deactivated),
            str(c.rejected),
            who,
            r.error,
        )
    console.print(table)


@org_app.command("schedules")
def schedules_command() -> None:
    """Create or update the hourly Schedules org-sync/<source> (STRIDE_ORG_SYNC_SOURCES)."""
    from services.identity.sync.schedules import ensure_org_sync_schedules

    console = Console()
    settings = WorkerSettings()

    async def ensure() -> list[str]:
        client = await connect_temporal(settings, identity="stride-org-schedules")
        return await ensure_org_sync_schedules(client, settings)

    ids = asyncio.run(ensure())
    console.print("schedules: " + (", ".join(ids) if ids else "none (no sources configured)"))


async def _invite(
    address: str, employee_ids: list[str], all_without_password: bool, include_privileged: bool
) -> auth_pb2.IssueInitialPasswordsResponse:
    async with channels.channel(address) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        return await stub.IssueInitialPasswords(
            auth_pb2.IssueInitialPasswordsRequest(
                employee_ids=employee_ids,
                all_without_password=all_without_password,
                include_privileged=include_privileged,
            ),
            timeout=600,
            metadata=((ACTOR_KEY, "cli:invite"),),
        )


@org_app.command("invite")
def invite_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="XLSX file of slips to print.")],
    all_without_password: Annotated[
        bool, typer.Option("--all", help="Every active person without a password.")
    ] = False,
    employee_id: Annotated[
        list[str] | None, typer.Option("--employee-id", help="This employee (repeatable).")
    ] = None,
    include_privileged: Annotated[
        bool, typer.Option(help="Also people holding the hr or admin role.")
    ] = False,
    identity: IdentityOption = None,
) -> None:
    """One-time initial passwords for imported people, written as printable slips (XLSX).

    The passwords are only in that file (never shown again, never issued twice): keep it safe
    and delete it once the slips are handed out. Everyone must change the password at first
    sign-in.
    """
    console = Console()
    ids = list(employee_id or [])
    if bool(ids) == all_without_password:
        raise _fail(console, "give either --all or --employee-id")
    if output.exists():
        raise _fail(console, f"{output} exists: choose a new file (passwords are issued once)")
    address = identity or StrideSettings().identity_addr
    try:
        answer = asyncio.run(_invite(address, ids, all_without_password, include_privileged))
    except grpc.aio.AioRpcError as exc:
        raise _fail(console, f"identity service at {address}: {exc.details()}") from exc
    if answer.issued:
        output.write_bytes(slips_xlsx(answer.issued))
        output.chmod(0o600)
        console.print(f"[green]{len(answer.issued)} invitations[/green] written to {output}")
    else:
        console.print("nobody to invite: no file written")
    skipped: dict[str, int] = {}
    for s in answer.skipped:
        skipped[s.reason] = skipped.get(s.reason, 0) + 1
    if skipped:
        console.print("skipped: " + ", ".join(f"{k} × {v}" for k, v in sorted(skipped.items())))
    if answer.remaining:
        console.print(f"{answer.remaining} more without a password: run it again")
