"""Tables of department robots, calendar days, the notification policy and HR's training
catalogue."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.identity.models import Base


class DepartmentRobot(Base):
    """One IM group robot of a department per kind ("dingtalk" | "wecom")."""

    __tablename__ = "department_robots"

    department_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("departments.id"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    # The webhook (its access token / key is a credential) and DingTalk's signing secret:
    # read by the worker's IM activity only, never in responses, audit entries or events.
    webhook_url: Mapped[str] = mapped_column(Text, nullable=False)
    secret: Mapped[str] = mapped_column(Text, nullable=False, default="")
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="zh-CN")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CalendarDay(Base):
    """An exception to Mon–Fri: a holiday, or a weekend day that is worked (调休)."""

    __tablename__ = "org_calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # "holiday" | "working_day"
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class NotificationPolicyRow(Base):
    """The organisation's notification policy (one row, id 1; absent: the defaults)."""

    __tablename__ = "notification_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    quiet_start: Mapped[str] = mapped_column(String(5), nullable=False)
    quiet_end: Mapped[str] = mapped_column(String(5), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class TrainingCourseRow(Base):
    """A course of HR's training catalogue (``position`` keeps HR's order)."""

    __tablename__ = "training_courses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    title_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    title_en: Mapped[str] = mapped_column(String(200), nullable=False)
    topics: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    url: Mapped[str] = mapped_column(Text, nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
