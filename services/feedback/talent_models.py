"""High-potential suggestions (migration 0004), on the feedback service's :class:`Base`.

One row per (cycle, employee) the formulas suggested (services/feedback/domain/talent.py),
with the numbers behind it, so HR reads why; HR's decision (who, when, why) stays on the row
and a later computation never overwrites it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.feedback.models import Base


class TalentSuggestion(Base):
    __tablename__ = "talent_suggestions"
    __table_args__ = (
        UniqueConstraint("cycle_id", "employee_id", name="uq_talent_suggestion"),
        Index("ix_talent_suggestions_cycle", "cycle_id", "department_id", "status"),
    )

    id: Mapped[str] = id_column()
    cycle_id: Mapped[str] = mapped_column(String(36), nullable=False)
    employee_id: Mapped[str] = mapped_column(String(36), nullable=False)
    department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # open | confirmed | dismissed
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    cycles: Mapped[int] = mapped_column(Integer, nullable=False)
    level: Mapped[float] = mapped_column(Float, nullable=False)
    spread: Mapped[float] = mapped_column(Float, nullable=False)
    stretch_objectives: Mapped[int] = mapped_column(Integer, nullable=False)
    stretch_met: Mapped[int] = mapped_column(Integer, nullable=False)
    improvement_praise: Mapped[int] = mapped_column(Integer, nullable=False)
    accepted_challenges: Mapped[int] = mapped_column(Integer, nullable=False)
    innovation_points: Mapped[int] = mapped_column(Integer, nullable=False)
    final_rating: Mapped[str] = mapped_column(String(1), nullable=False, default="")
    decided_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
