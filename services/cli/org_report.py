"""How ``stride org`` prints a sync: counts, who is (would be) deactivated or kept, rejections."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from stride.identity.v1 import org_sync_pb2 as pb

COUNT_LABELS = (
    ("created", "created"),
    ("updated", "updated"),
    ("moved", "moved"),
    ("deactivated", "deactivated"),
    ("unchanged", "unchanged"),
    ("rejected", "rejected"),
    ("linked", "linked to the source"),
    ("kept", "kept (admin or requester)"),
    ("departments_created", "departments created"),
    ("departments_updated", "departments updated"),
    ("departments_rejected", "departments rejected"),
)


def _counts_table(counts: object, title: str) -> Table:
    table = Table(show_header=False)
    table.add_column(title)
    table.add_column("rows", justify="right")
    for name, label in COUNT_LABELS:
        value = int(getattr(counts, name))
        if value or name in ("created", "updated", "moved", "deactivated", "unchanged", "rejected"):
            table.add_row(label, str(value))
    return table


def print_counts(console: Console, counts: object, title: str) -> None:
    console.print(f"[bold]{title}[/bold]")
    console.print(_counts_table(counts, title))


def _people_table(title: str, rows: list[pb.OrgSyncRow], max_rows: int) -> Table:
    table = Table(title=f"{title} ({len(rows)})", title_justify="left")
    for column in ("employee number", "name", "note"):
        table.add_column(column)
    for r in rows[:max_rows]:
        table.add_row(r.key, r.name, r.reason)
    return table


def print_people(
    console: Console, report: pb.OrgSyncReport, *, max_rows: int = 50, run_id: str = ""
) -> None:
    """Who the run deactivates (would deactivate, for a dry run) and who it keeps."""
    rows = report.rows or report.deactivations
    deactivated = [r for r in rows if r.kind == "person" and r.action == "deactivated"]
    kept = [r for r in report.rows if r.kind == "person" and r.action == "kept"]
    if deactivated:
        title = "would be deactivated" if report.dry_run else "deactivated"
        console.print(_people_table(title, deactivated, max_rows))
        shown = min(len(deactivated), max_rows)
        if report.counts.deactivated > shown:
            more = report.counts.deactivated - shown
            console.print(f"… {more} more (stride org report {run_id or report.run_id})")
    if kept:
        console.print(_people_table("kept active (never deactivated by a sync)", kept, max_rows))


def print_report(console: Console, report: pb.OrgSyncReport, *, max_rows: int = 50) -> None:
    title = f"org sync {report.run_id} · {report.source} · {report.status}"
    print_counts(console, report.counts, title)
    if report.error:
        console.print(f"[red]failed: {report.error}[/red]")
    elif report.mass_deactivation:
        console.print(
            "[yellow]mass deactivation: a real run of this would be refused "
            "(--allow-mass-deactivation)[/yellow]"
        )
    print_people(console, report, max_rows=max_rows)
    rejected = [r for r in report.rows if r.action == "rejected"]
    if rejected:
        table = Table(title=f"rejected rows ({len(rejected)})", title_justify="left")
        for column in ("row", "kind", "key", "reason"):
            table.add_column(column)
        for r in rejected[:max_rows]:
            table.add_row(str(r.row or ""), r.kind, r.key, f"{r.reason_code}: {r.reason}")
        console.print(table)
        if len(rejected) > max_rows:
            console.print(f"… {len(rejected) - max_rows} more (stride org report {report.run_id})")
    if report.dry_run:
        console.print("[yellow]dry run: nothing was written[/yellow]")
