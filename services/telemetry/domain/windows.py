"""Windows in the organisation's time (pure): which stretch of time a binding aggregates.

A shift, a calendar day and an ISO week are local to the organisation's time zone (shift
starts configurable, default 08:00 / 16:00 / 00:00); cycle-to-date starts at local midnight of
the cycle's first day. Bounds are computed in local wall time and converted to UTC, so a
daylight-saving change gives a 23- or 25-hour day rather than a shifted one. Samples belong to
the window of their *event* time: ``start <= event_time < end``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Window(StrEnum):
    SHIFT = "shift"
    DAY = "day"
    WEEK = "week"
    CYCLE_TO_DATE = "cycle_to_date"


DEFAULT_SHIFTS: tuple[time, ...] = (time(8), time(16), time(0))


@dataclass(frozen=True)
class Bounds:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def parse_shifts(text: str) -> tuple[time, ...]:
    """``"08:00,16:00,00:00"`` → the shift start times, sorted; at least one."""
    starts = sorted({time.fromisoformat(part.strip()) for part in text.split(",") if part.strip()})
    if not starts:
        raise ValueError("at least one shift start time")
    return tuple(starts)


def _utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def bounds(
    window: Window,
    at: datetime,
    time_zone: str,
    *,
    shifts: Sequence[time] = DEFAULT_SHIFTS,
    cycle_start: date | None = None,
) -> Bounds:
    """The window of kind ``window`` that contains the instant ``at``."""
    zone = ZoneInfo(time_zone)
    local = at.astimezone(zone)
    today = local.date()
    if window is Window.DAY:
        return Bounds(_utc(today, time(0), zone), _utc(today + timedelta(days=1), time(0), zone))
    if window is Window.WEEK:
        monday = today - timedelta(days=today.weekday())
        return Bounds(_utc(monday, time(0), zone), _utc(monday + timedelta(days=7), time(0), zone))
    if window is Window.CYCLE_TO_DATE:
        if cycle_start is None:
            raise ValueError("a cycle-to-date window needs the cycle's start")
        return Bounds(
            _utc(cycle_start, time(0), zone), at.astimezone(UTC) + timedelta(microseconds=1)
        )
    starts = sorted(shifts)
    # Every shift start from yesterday to tomorrow, as instants; the window is the last start
    # at or before ``at`` up to the next one.
    instants = [_utc(today + timedelta(days=d), s, zone) for d in (-1, 0, 1) for s in starts]
    now = at.astimezone(UTC)
    start = max(i for i in instants if i <= now)
    end = min(i for i in instants if i > now)
    return Bounds(start, end)
