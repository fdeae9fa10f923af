"""ISO weeks in the organisation's time zone (pure functions)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.common.errors import InvalidArgument

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument("invalid_time_zone", f"unknown time zone {name!r}") from exc


def parse_week(week: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week such as ``2026-W48``."""
    match = WEEK.match(week)
    if not match:
        raise InvalidArgument("invalid_week", "week must look like 2026-W48")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise InvalidArgument("invalid_week", f"{week} is not a week of {year}") from exc
    return monday, monday + timedelta(days=6)


def week_of(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(zone(tz)).date()


def parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidArgument(
            f"invalid_{field}", f"{field} must be an ISO date (YYYY-MM-DD)"
        ) from exc
