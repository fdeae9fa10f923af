"""The week and the period an item counts in: the organisation's calendar, not UTC."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from workflows.vocabulary import quarter_label, week_of


def local_week(at: datetime, time_zone: str) -> str:
    """ISO week of ``at`` in the organisation's time zone (a Monday 07:00 in Shanghai is
    Sunday night in UTC: it counts in the Monday's week)."""
    return week_of(at.astimezone(ZoneInfo(time_zone)).date())


def local_quarter(at: datetime, time_zone: str) -> str:
    """Calendar quarter of ``at`` in the organisation's time zone, e.g. ``2026-Q4``."""
    return quarter_label(at.astimezone(ZoneInfo(time_zone)).date())
