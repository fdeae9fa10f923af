"""Check-in punctuality (pure): which weekly check-ins were expected and which came on time.

A key result expects one check-in per finished ISO week of its cycle (a week is finished once
its Sunday is over in the cycle's time zone). A check-in is on time when it was first recorded
no later than that Sunday, in the cycle's time zone: the weekly review on Monday morning reads
what was there by the end of the week. HR backfilling past weeks later counts as late, which is
what it is. Used by the managers' progress-transparency dimension (docs/talent.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from workflows.vocabulary import week_bounds, week_of


def finished_weeks(start: date, end: date, today: date) -> list[str]:
    """ISO weeks overlapping [start, end] whose Sunday is before ``today``."""
    weeks: list[str] = []
    monday = start - timedelta(days=start.weekday())
    while monday <= end and monday + timedelta(days=6) < today:
        weeks.append(week_of(monday))
        monday += timedelta(days=7)
    return weeks


def on_time_weeks(
    first_recorded: Mapping[str, datetime], weeks: Iterable[str], tz: ZoneInfo
) -> int:
    """How many of ``weeks`` have a check-in (week → when it was first recorded, aware) by
    the end of the week's Sunday in ``tz``."""
    count = 0
    for week in weeks:
        at = first_recorded.get(week)
        bounds = week_bounds(week)
        if at is None or bounds is None:
            continue
        count += at.astimezone(tz).date() <= bounds[1]
    return count
