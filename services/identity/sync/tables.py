"""Org-sync tables (identity's own): runs, their batches of operations, uploaded files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import created_at_column
from services.identity.models import Base

RUN_STARTED = "started"
RUN_PLANNED = "planned"
RUN_APPLYING = "applying"
RUN_APPLIED = "applied"
RUN_SUPERSEDED = "superseded"
RUN_DRY = "dry_run"
RUN_FAILED = "failed"
UNFINISHED = (RUN_PLANNED, RUN_APPLYING)
# A run in one of these never changes again.
FINAL = (RUN_APPLIED, RUN_SUPERSEDED, RUN_DRY, RUN_FAILED)


class OrgSyncRun(Base):
    """One sync, dry or not, from the moment it started (``started``) to its end."""

    __tablename__ = "org_sync_runs"
    __table_args__ = (
        Index("ix_org_sync_runs_created", "created_at"),
        Index("ix_org_sync_runs_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    batch_count: Mapped[int] = mapped_column(Integer, nullable=False)
    batches_applied: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    operation_count: Mapped[int] = mapped_column(Integer, nullable=False)
    # JSON: workflows.org_sync.SyncCounts (sync.data.counts_to_json) / list of ReportRow.
    counts: Mapped[str] = mapped_column(Text, nullable=False)
    rows: Mapped[str] = mapped_column(Text, nullable=False)
    # Migration 0008: runs are recorded from their start, dry ones too, failures with a reason.
    dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # JSON list of ReportRow: who is (would be) deactivated, the first MAX_LISTED of them, so
    # the runs list names them without loading every row.
    deactivations: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    mass_deactivation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    requested_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    upload_id: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    workflow_id: Mapped[str] = mapped_column(String(255), nullable=False, default="")


class OrgSyncBatch(Base):
    __tablename__ = "org_sync_batches"

    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("org_sync_runs.id"), primary_key=True
    )
    batch_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    # JSON list of services.identity.sync.data.Operation.
    operations: Mapped[str] = mapped_column(Text, nullable=False)
    operation_count: Mapped[int] = mapped_column(Integer, nullable=False)
    # Set in the transaction that applied the batch: a retry finds it and writes nothing.
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OrgSyncUpload(Base):
    """A CSV/XLSX file HR uploaded through the API, read by PlanOrgSync(upload_id): the file
    reaches the sync through identity's database, not through a path on the worker."""

    __tablename__ = "org_sync_uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    people: Mapped[int] = mapped_column(Integer, nullable=False)
    departments: Mapped[int] = mapped_column(Integer, nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
