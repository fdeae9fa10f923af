"""Goals tables (schema ``goals`` in PostgreSQL, goals.db in SQLite)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.common.outbox import outbox_table


class Base(DeclarativeBase):
    pass


class Cycle(Base):
    __tablename__ = "cycles"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    created_at: Mapped[datetime] = created_at_column()


class Objective(Base):
    __tablename__ = "objectives"
    __table_args__ = (Index("ix_objectives_cycle", "cycle_id"),)

    id: Mapped[str] = id_column()
    cycle_id: Mapped[str] = mapped_column(String(36), ForeignKey("cycles.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class KeyResult(Base):
    __tablename__ = "key_results"
    __table_args__ = (Index("ix_key_results_objective", "objective_id"),)

    id: Mapped[str] = id_column()
    objective_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("objectives.id"), nullable=False
    )
    cycle_id: Mapped[str] = mapped_column(String(36), ForeignKey("cycles.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    baseline: Mapped[float] = mapped_column(Float, nullable=False)
    target: Mapped[float] = mapped_column(Float, nullable=False)
    unit: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    current_value: Mapped[float] = mapped_column(Float, nullable=False)
    # Latest result of services.goals.risk.assess, kept for lists and dashboards.
    risk_status: Mapped[str] = mapped_column(String(16), nullable=False, default="no_data")
    risk_progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    risk_expected_progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    risk_expected_value: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    risk_shortfall: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    risk_behind_streak: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = created_at_column()


class CheckIn(Base):
    __tablename__ = "check_ins"
    __table_args__ = (UniqueConstraint("key_result_id", "week", name="uq_check_ins_kr_week"),)

    id: Mapped[str] = id_column()
    key_result_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("key_results.id"), nullable=False
    )
    week: Mapped[str] = mapped_column(String(8), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    confidence: Mapped[int] = mapped_column(Integer, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    risk_status: Mapped[str] = mapped_column(String(16), nullable=False)
    risk_progress: Mapped[float] = mapped_column(Float, nullable=False)
    risk_expected_progress: Mapped[float] = mapped_column(Float, nullable=False)
    risk_expected_value: Mapped[float] = mapped_column(Float, nullable=False)
    risk_shortfall: Mapped[float] = mapped_column(Float, nullable=False)
    risk_behind_streak: Mapped[int] = mapped_column(Integer, nullable=False)
    recorded_at: Mapped[datetime] = created_at_column()


OUTBOX = outbox_table(Base.metadata)
