"""Org synchronisation runs, their reports and uploaded files: the bodies of /org/sync."""

from __future__ import annotations

from pydantic import Field, StrictBool

from gateway.schemas.common import Id, RequestModel, ResponseModel
from gateway.schemas.words import OrgSyncSource
from workflows.sync_counts import SyncCounts


class OrgSyncStart(RequestModel):
    source: OrgSyncSource
    dry_run: StrictBool = False
    upload_id: Id | None = Field(
        default=None,
        description="an uploaded file (POST /org/sync/uploads); required for source `file`",
    )
    allow_mass_deactivation: StrictBool = Field(
        default=False,
        description="apply even when more than the allowed share of the active people "
        "(20 % by default) would be deactivated",
    )


class OrgSyncStarted(ResponseModel):
    workflow_id: str
    run_id: str = Field(description="Temporal run id of the workflow execution")
    sync_run_id: str = Field(
        description="the run in GET /org/sync/runs/{run_id} (listed from the start)"
    )
    source: str
    dry_run: bool
    upload_id: str = ""


class OrgSyncUploaded(ResponseModel):
    upload_id: str
    filename: str
    size: int
    sha256: str
    people: int = Field(description="people rows in the file")
    departments: int = Field(description="departments derived from the file's paths")
    uploaded_at: str


class OrgSyncRow(ResponseModel):
    row: int
    kind: str
    key: str
    action: str
    reason_code: str
    reason: str
    changed_fields: list[str]
    name: str = Field(default="", description="the person's name (empty for rejected rows)")


class OrgSyncRun(ResponseModel):
    run_id: str
    source: str
    dry_run: bool
    status: str = Field(
        description="started, dry_run, planned, applying, applied, superseded or failed"
    )
    # The counts are defined once, where the workflow reports them.
    counts: SyncCounts | None
    batch_count: int
    batches_applied: int
    operation_count: int
    planned_at: str = Field(description="when the run started (RFC 3339)")
    finished_at: str
    error: str = Field(default="", description="why the run failed")
    mass_deactivation: bool = Field(
        default=False,
        description="more than the allowed share of the active people would be deactivated "
        "(a real run is refused for it)",
    )
    deactivations: list[OrgSyncRow] = Field(
        default_factory=list,
        description="who is (for a dry run: would be) deactivated, the first 200",
    )
    requested_by: str = ""
    upload_id: str = ""
    workflow_id: str = ""
    rows: list[OrgSyncRow] = Field(
        default_factory=list, description="every row that is not unchanged (reports only)"
    )


class OrgSyncRuns(ResponseModel):
    items: list[OrgSyncRun]
