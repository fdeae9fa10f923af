"""Promotion review tables (migration 0005), on the feedback service's :class:`Base`.

- ``promotion_cases``: one per application (the candidate, who applied, the grades, the
  workflow's phase as ``status``, the current panel and the outcome);
- ``promotion_scores``: one per (case, panel round, member): a member scores once per panel;
- ``promotion_objections``: one per objection raised in a publicity period (the author is
  shown to HR only) with HR's investigation outcome;
- ``promotion_steps``: every step the workflow recorded, numbered by the workflow (a retried
  step is recorded once), each with its audit entry;
- ``promotion_rules``: HR's eligibility rules, one row per version (the newest applies).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.feedback.models import Base


class PromotionCase(Base):
    __tablename__ = "promotion_cases"
    __table_args__ = (
        Index("ix_promotion_cases_candidate", "candidate_id", "status"),
        Index("ix_promotion_cases_status", "status", "created_at"),
    )

    id: Mapped[str] = id_column()
    candidate_id: Mapped[str] = mapped_column(String(36), nullable=False)
    applicant_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # The candidate's direct manager when they applied ("" at the top).
    manager_id: Mapped[str] = mapped_column(String(36), nullable=False)
    current_grade: Mapped[str] = mapped_column(String(16), nullable=False)
    target_grade: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    panel: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    panel_round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    mean_score: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    publicity_end: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    decided_by: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    decision_comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class PromotionScore(Base):
    __tablename__ = "promotion_scores"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    panel_round: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()


class PromotionObjection(Base):
    __tablename__ = "promotion_objections"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[str] = mapped_column(String(36), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    resolved_by: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()


class PromotionStepRow(Base):
    __tablename__ = "promotion_steps"
    __table_args__ = (UniqueConstraint("case_id", "sequence", name="uq_promotion_step"),)

    id: Mapped[str] = id_column()
    case_id: Mapped[str] = mapped_column(String(36), nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    step: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_id: Mapped[str] = mapped_column(String(80), nullable=False)
    phase: Mapped[str] = mapped_column(String(16), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = created_at_column()


class PromotionRules(Base):
    __tablename__ = "promotion_rules"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    min_rating: Mapped[str] = mapped_column(String(1), nullable=False)
    ratings_count: Mapped[int] = mapped_column(Integer, nullable=False)
    min_tenure_months: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(36), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
