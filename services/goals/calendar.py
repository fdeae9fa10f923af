"""Dates, weeks and time zones of requests, checked with goals' error codes (pure functions).

The formats themselves (the ISO-week pattern, week arithmetic) are
:mod:`workflows.vocabulary`'s; this module turns a bad value into a stable InvalidArgument.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.common.errors import InvalidArgument
from workflows.vocabulary import WEEK, parse_day, week_bounds


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument("invalid_time_zone", f"unknown time zone {name!r}") from exc


def parse_week(week: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week such as ``2026-W48``."""
    bounds = week_bounds(week)
    if bounds is None:
        match = WEEK.fullmatch(week)
        if not match:
            raise InvalidArgument("invalid_week", "week must look like 2026-W48")
        raise InvalidArgument("invalid_week", f"{week} is not a week of {match.group(1)}")
    return bounds


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(zone(tz)).date()


def parse_date(value: str, field: str) -> date:
    """The date ``YYYY-MM-DD`` (ASCII digits, :func:`workflows.vocabulary.parse_day`)."""
    day = parse_day(value)
    if day is None:
        raise InvalidArgument(f"invalid_{field}", f"{field} must be an ISO date (YYYY-MM-DD)")
    return day
