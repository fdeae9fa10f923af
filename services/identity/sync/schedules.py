"""Starting org sync on Temporal: the hourly Schedules and on-demand runs."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from services.common.schedules import ensure_schedule
from services.common.settings import WorkerSettings
from services.identity.sync.connectors import configured_sources
from workflows import ids
from workflows.audit import memo
from workflows.org_sync import (
    OrgSyncInput,
    OrgSyncReport,
    OrgSyncWorkflow,
    memo_title,
)


def schedule_id(source: str) -> str:
    return ids.org_sync(source)


def org_sync_schedule(source: str, settings: WorkerSettings) -> Schedule:
    every = timedelta(minutes=max(settings.org_sync_interval_minutes, 1))
    return Schedule(
        action=ScheduleActionStartWorkflow(
            OrgSyncWorkflow.run,
            OrgSyncInput(source=source),
            # Temporal appends the scheduled time: org-sync/dingtalk-2026-01-05T08:00:00Z
            id=ids.org_sync(source),
            task_queue=settings.task_queue,
            execution_timeout=every * 4,
            memo=memo(memo_title(source)),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        # A run still going when the next is due: skip that one (the next catches up).
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
    )


async def ensure_org_sync_schedules(client: Client, settings: WorkerSettings) -> list[str]:
    """Create or update the Schedule ``org-sync/<source>`` of every configured source.

    Idempotent: an existing schedule gets the current interval, task queue and input and
    keeps its state (paused or not, with the operator's note). Sources
    removed from the settings keep their schedule (pause or delete it with the Temporal CLI).
    Returns the schedule ids.
    """
    ids: list[str] = []
    for source in configured_sources(settings):
        schedule = org_sync_schedule(source, settings)
        sid = schedule_id(source)
        await ensure_schedule(client, sid, schedule)
        ids.append(sid)
    return ids


async def start_org_sync(
    client: Client,
    source: str,
    *,
    task_queue: str,
    dry_run: bool = False,
    batch_size: int = 0,
    join_running: bool = True,
    run_id: str = "",
    upload_id: str = "",
    requested_by: str = "",
    allow_mass_deactivation: bool = False,
) -> WorkflowHandle[OrgSyncWorkflow, OrgSyncReport]:
    """Start a sync now. When one of this source is running already, that one is returned
    (``join_running``) or ``WorkflowAlreadyStartedError`` is raised. ``run_id``: identity's
    run (recorded by the caller with BeginOrgSyncRun; the workflow makes one when empty);
    ``upload_id``: an uploaded file instead of the source's connector; ``requested_by``: the
    employee id of who asked (never deactivated by the run)."""
    return await client.start_workflow(
        OrgSyncWorkflow.run,
        OrgSyncInput(
            source=source,
            dry_run=dry_run,
            batch_size=batch_size,
            run_id=run_id,
            upload_id=upload_id,
            requested_by=requested_by,
            allow_mass_deactivation=allow_mass_deactivation,
        ),
        id=ids.org_sync(source, dry_run=dry_run),
        task_queue=task_queue,
        id_conflict_policy=(
            WorkflowIDConflictPolicy.USE_EXISTING if join_running else WorkflowIDConflictPolicy.FAIL
        ),
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        memo=memo(memo_title(source, dry_run=dry_run)),
    )
