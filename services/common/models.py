"""Column helpers shared by the services' table definitions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def id_column() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


def rfc3339(value: datetime | None) -> str:
    """UTC RFC 3339 text for the wire ("" for None); SQLite hands back naive UTC datetimes."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def aware(value: datetime | None) -> datetime | None:
    """Timezone-aware UTC (SQLite hands back naive datetimes for timezone columns)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
