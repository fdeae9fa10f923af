"""Feedback tables (schema ``feedback`` in PostgreSQL, feedback.db in SQLite).

This module holds continuous feedback, praise and its badges, upward feedback, goal
challenges and the organisation's feedback settings (migration 0001). The 360 rounds' tables
live in ``round_models.py`` on the same :class:`Base`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.common.outbox import outbox_table


class Base(DeclarativeBase):
    pass


class FeedbackItem(Base):
    """Feedback about a person, an objective or a key result: private or public praise."""

    __tablename__ = "feedback_items"
    __table_args__ = (
        Index("ix_feedback_about", "about_id", "created_at"),
        Index("ix_feedback_author", "author_id", "created_at"),
        Index("ix_feedback_subject", "subject_kind", "subject_id"),
        Index("ix_feedback_praise_department", "visibility", "about_department_id", "created_at"),
        Index("ix_feedback_week", "week", "author_department_id"),
    )

    id: Mapped[str] = id_column()
    # person | objective | key_result
    subject_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # The person it is about (the subject, or the objective's / key result's owner).
    about_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # Their department when it was given (praise is shown to that department).
    about_department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    author_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # The author's department when it was given (feedback frequency per department).
    author_department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # private | praise
    visibility: Mapped[str] = mapped_column(String(16), nullable=False)
    share_with_manager: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    badge_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("badges.id"), nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # ISO week in the organisation's time zone ("2026-W49").
    week: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    # Praise: what kind of contribution it recognises (PRAISE_TAGS; migration 0004).
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)


class FeedbackRequest(Base):
    """A request for feedback, answered by feedback linked to it."""

    __tablename__ = "feedback_requests"
    __table_args__ = (
        Index("ix_feedback_requests_responder", "responder_id", "status", "created_at"),
        Index("ix_feedback_requests_requester", "requester_id", "created_at"),
    )

    id: Mapped[str] = id_column()
    requester_id: Mapped[str] = mapped_column(String(36), nullable=False)
    responder_id: Mapped[str] = mapped_column(String(36), nullable=False)
    subject_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(36), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # open | answered | declined
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    feedback_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Badge(Base):
    """A recognition badge of the catalogue HR maintains (e.g. 数字先锋奖)."""

    __tablename__ = "badges"

    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()


class UpwardFeedback(Base):
    """Feedback to one's own manager. The author of an anonymous item is kept only to count
    distinct authors against the threshold; no read returns it."""

    __tablename__ = "upward_feedback"
    __table_args__ = (Index("ix_upward_manager_period", "manager_id", "period"),)

    id: Mapped[str] = id_column()
    manager_id: Mapped[str] = mapped_column(String(36), nullable=False)
    author_id: Mapped[str] = mapped_column(String(36), nullable=False)
    author_department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    # Calendar quarter in the organisation's time zone ("2026-Q4").
    period: Mapped[str] = mapped_column(String(8), nullable=False)
    week: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class Challenge(Base):
    """ "Challenge this goal": a thread on an objective its owner must answer."""

    __tablename__ = "challenges"
    __table_args__ = (
        Index("ix_challenges_owner", "owner_id", "status", "created_at"),
        Index("ix_challenges_objective", "objective_id", "created_at"),
        Index("ix_challenges_week", "week", "challenger_department_id"),
    )

    id: Mapped[str] = id_column()
    objective_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # The objective's owner when it was raised: the one who must answer.
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    challenger_id: Mapped[str] = mapped_column(String(36), nullable=False)
    challenger_department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # open | answered | resolved
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    # The owner's answer accepted the challenge (migration 0004).
    accepted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    week: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ChallengeMessage(Base):
    __tablename__ = "challenge_messages"
    __table_args__ = (Index("ix_challenge_messages_challenge", "challenge_id", "seq"),)

    id: Mapped[str] = id_column()
    challenge_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("challenges.id"), nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    author_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # challenge | answer | resolution
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class Settings(Base):
    """The organisation's feedback settings: one row (id "org")."""

    __tablename__ = "settings"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    anonymity_threshold: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = created_at_column()


OUTBOX = outbox_table(Base.metadata)
