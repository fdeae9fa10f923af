"""Org-sync tables (identity's own): planned runs and their batches of operations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import created_at_column
from services.identity.models import Base

RUN_PLANNED = "planned"
RUN_APPLYING = "applying"
RUN_APPLIED = "applied"
RUN_SUPERSEDED = "superseded"
RUN_DRY = "dry_run"
UNFINISHED = (RUN_PLANNED, RUN_APPLYING)


class OrgSyncRun(Base):
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
