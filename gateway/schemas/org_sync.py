"""Org synchronisation runs and their reports: the bodies of /org-sync."""

from __future__ import annotations

from pydantic import Field

from gateway.schemas.common import RequestModel, ResponseModel
from gateway.schemas.words import OrgSyncSource


class OrgSyncStart(RequestModel):
    source: OrgSyncSource
    dry_run: bool = False


class OrgSyncStarted(ResponseModel):
    workflow_id: str
    run_id: str = Field(description="Temporal run id of the workflow execution")
    source: str
    dry_run: bool


class OrgSyncCounts(ResponseModel):
    created: int
    updated: int
    moved: int
    deactivated: int
    unchanged: int
    rejected: int
    linked: int
    departments_created: int
    departments_updated: int
    departments_unchanged: int
    departments_rejected: int
    departments_linked: int


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
    counts: OrgSyncCounts | None
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
