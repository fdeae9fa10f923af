"""Month-end department brief tables (migration 0009), on the goals :class:`Base`.

- ``monthly_briefs``: one row per (month, department): the department's figures for the month
  as JSON (workflows/brief_figures.py ``DepartmentFigures``), read back next month for the
  trend.
- ``monthly_brief_documents``: the rendered brief per (month, department, language): HTML and
  PDF.

Goals keeps them because the figures are goals' (scores, risk, check-ins, objectives) and it
already answers the gateway's reads; nothing else reads these tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import utcnow
from services.goals.models import Base


class MonthlyBrief(Base):
    __tablename__ = "monthly_briefs"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    department_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    department_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    figures_json: Mapped[str] = mapped_column(Text, nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class MonthlyBriefDocument(Base):
    __tablename__ = "monthly_brief_documents"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    department_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, default=b"")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
