"""Inbox table (identity's own): one row per notification and recipient, unique by key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.identity.models import Base


class InboxItem(Base):
    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_items_recipient_created", "recipient_id", "created_at"),)

    id: Mapped[str] = id_column()
    # Idempotency key: "<workflow id>/<step>/<recipient>"; also the e-mail's Message-ID.
    key: Mapped[str] = mapped_column(String(400), nullable=False, unique=True)
    recipient_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("employees.id"), nullable=False
    )
    template: Mapped[str] = mapped_column(String(64), nullable=False)
    title_zh: Mapped[str] = mapped_column(Text, nullable=False)
    title_en: Mapped[str] = mapped_column(Text, nullable=False)
    body_zh: Mapped[str] = mapped_column(Text, nullable=False)
    body_en: Mapped[str] = mapped_column(Text, nullable=False)
    link: Mapped[str] = mapped_column(String(400), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
