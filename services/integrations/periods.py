"""Periods in the organisation's time: shifts and days, for sources that report per period.

A source computing a figure per shift or per day pulls only periods that have ended (so a
sample is never replaced by a later, different one with the same id) and advances its
watermark to the end of the last one. Pure functions; boundaries are local wall-clock times
(``08:00,16:00,00:00`` for the default three shifts, ``00:00`` for days) in an IANA zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from itertools import pairwise

from workflows.calendar import local_date, local_instant, parse_clock

Period = tuple[datetime, datetime]


def parse_boundaries(text: str) -> list[time]:
    """``"08:00,16:00,00:00"`` → sorted clock times (ValueError for a bad one)."""
    clocks = sorted({parse_clock(part.strip()) for part in text.split(",") if part.strip()})
    if not clocks:
        raise ValueError("no period boundary given")
    return clocks


def boundaries_between(
    start: datetime, end: datetime, tz: str, clocks: Sequence[time]
) -> list[datetime]:
    """Every boundary (each clock time on each local day) in ``[start, end]``, in UTC."""
    day = local_date(start, tz) - timedelta(days=1)
    last = local_date(end, tz) + timedelta(days=1)
    found: list[datetime] = []
    while day <= last:
        for clock in clocks:
            at = local_instant(day, clock, tz)
            if start <= at <= end:
                found.append(at)
        day += timedelta(days=1)
    return sorted(set(found))


def period_start(moment: datetime, tz: str, clocks: Sequence[time]) -> datetime:
    """The boundary at or before ``moment`` (the start of the period it falls in)."""
    return boundaries_between(moment - timedelta(days=2), moment, tz, clocks)[-1]


def completed_periods(
    since: datetime, now: datetime, tz: str, clocks: Sequence[time]
) -> list[Period]:
    """The periods that start at or after ``since`` (a boundary) and have ended by ``now``."""
    points = boundaries_between(since, now, tz, clocks)
    return list(pairwise(points))
