"""Org synchronisation runs and their reports: the bodies of /org-sync."""

from __future__ import annotations

from pydantic import Field

from gateway.schemas.common import RequestModel, ResponseModel
from gateway.schemas.words import OrgSyncSource
from workflows.sync_counts import SyncCounts


class OrgSyncStart(RequestModel):
    source: OrgSyncSource
    dry_run: bool = False


class OrgSyncStarted(ResponseModel):
    workflow_id: str
    run_id: str = Field(description="Temporal run id of the workflow execution")
    source: str
    dry_run: bool


class OrgSyncRow(ResponseModel):
    row: int
    kind: str
    key: str
    action: str
    reason_code: str
    reason: str
    changed_fields: list[str]


class OrgSyncRun(ResponseModel):
    run_id: str
    source: str
    dry_run: bool
    status: str
    # The counts are defined once, where the workflow reports them.
    counts: SyncCounts | None
    batch_count: int
    batches_applied: int
    operation_count: int
    planned_at: str
    finished_at: str
    rows: list[OrgSyncRow] = Field(
        default_factory=list, description="every row that is not unchanged (reports only)"
    )


class OrgSyncRuns(ResponseModel):
    items: list[OrgSyncRun]
