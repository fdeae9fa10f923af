"""360 round tables (migration 0002), on the feedback service's :class:`Base`.

Templates, rounds (with the questions copied from their template when they start), raters,
answers and the results frozen at close. After close the answers of peers and reports are
kept without their rater (``rater_id`` NULL): nothing in the database links a person to an
anonymous answer any more, so no query — an admin's included — can.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.feedback.models import Base


class RoundTemplate(Base):
    """HR's question template: the questions as JSON (id, kind, text_zh, text_en, anonymous)."""

    __tablename__ = "round_templates"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    questions: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    archived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class Round(Base):
    """One subject's 360 round in one cycle."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("cycle_id", "subject_id", name="uq_round_cycle_subject"),
        Index("ix_rounds_subject", "subject_id"),
    )

    id: Mapped[str] = id_column()
    cycle_id: Mapped[str] = mapped_column(String(36), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # The subject's manager when the round started ("" at the top of the organisation).
    manager_id: Mapped[str] = mapped_column(String(36), nullable=False)
    department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    template_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # The template's questions when the round started (a later edit changes no running round).
    questions: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    phase: Mapped[str] = mapped_column(String(16), nullable=False)
    deadline: Mapped[date] = mapped_column(Date, nullable=False)
    nominations_due: Mapped[date] = mapped_column(Date, nullable=False)
    # Orders the comments at close (anonymity.shuffled_comments); never shown.
    seed: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RoundRater(Base):
    __tablename__ = "round_raters"
    __table_args__ = (Index("ix_round_raters_employee", "employee_id", "status"),)

    round_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    employee_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    relation: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)


class RoundAnswer(Base):
    """One answer; no time is kept. ``rater_id`` is cleared at close for peers and reports."""

    __tablename__ = "round_answers"
    __table_args__ = (
        UniqueConstraint("round_id", "rater_id", "question_id", name="uq_round_answer"),
    )

    id: Mapped[str] = id_column()
    round_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("rounds.id", ondelete="CASCADE"), nullable=False
    )
    rater_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    relation: Mapped[str] = mapped_column(String(16), nullable=False)
    question_id: Mapped[str] = mapped_column(String(64), nullable=False)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")


class RoundResult(Base):
    """What the round releases, computed once at close (anonymity.release_to_data)."""

    __tablename__ = "round_results"

    round_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    threshold: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
