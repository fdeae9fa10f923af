"""Performance archive and calibration tables (migration 0003), on the feedback :class:`Base`.

- ``archive_records``: one row per (employee, cycle): the OKR score goals gave at close, the
  self-assessment, the manager's rating (the direct manager at archive time), the released
  360 aggregates, external metrics (empty until telemetry exists), and the final rating and
  potential set in calibration.
- ``calibration_sessions``: one per (department, cycle), with HR's optional distribution
  guidance (a target share per rating; shown, never enforced).
- ``calibration_changes``: every change of a final rating or potential: who, why, old → new.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.feedback.models import Base


class ArchiveRecord(Base):
    __tablename__ = "archive_records"
    __table_args__ = (
        UniqueConstraint("employee_id", "cycle_id", name="uq_archive_employee_cycle"),
        Index("ix_archive_cycle_department", "cycle_id", "department_id"),
    )

    id: Mapped[str] = id_column()
    employee_id: Mapped[str] = mapped_column(String(36), nullable=False)
    cycle_id: Mapped[str] = mapped_column(String(36), nullable=False)
    department_id: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    # The direct manager when archived ("" at the top of the organisation).
    manager_id: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    cycle_start: Mapped[date] = mapped_column(Date, nullable=False)
    cycle_end: Mapped[date] = mapped_column(Date, nullable=False)
    # The employee's OKR score in the cycle (0..1); None until goals scored it.
    okr_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    self_rating: Mapped[str] = mapped_column(String(1), nullable=False, default="")
    self_comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    manager_rating: Mapped[str] = mapped_column(String(1), nullable=False, default="")
    manager_comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Who gave the manager rating ("" until given).
    rated_by: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    feedback_360: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    external_metrics: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    final_rating: Mapped[str] = mapped_column(String(1), nullable=False, default="")
    potential: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = created_at_column()


class CalibrationSession(Base):
    __tablename__ = "calibration_sessions"
    __table_args__ = (
        UniqueConstraint("department_id", "cycle_id", name="uq_calibration_department_cycle"),
    )

    id: Mapped[str] = id_column()
    department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    cycle_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # {rating: target share 0..1}; {} when HR gave no guidance.
    guidance: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_by: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class CalibrationChange(Base):
    __tablename__ = "calibration_changes"
    __table_args__ = (Index("ix_calibration_changes_session", "session_id", "created_at"),)

    id: Mapped[str] = id_column()
    session_id: Mapped[str] = mapped_column(String(36), nullable=False)
    record_id: Mapped[str] = mapped_column(String(36), nullable=False)
    employee_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # final_rating | potential
    field: Mapped[str] = mapped_column(String(16), nullable=False)
    old_value: Mapped[str] = mapped_column(String(8), nullable=False)
    new_value: Mapped[str] = mapped_column(String(8), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    actor_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
