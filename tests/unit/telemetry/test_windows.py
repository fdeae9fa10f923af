"""Windows in the organisation's time: shifts, days, ISO weeks, cycle to date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from services.telemetry.domain.windows import Window, bounds, parse_shifts

SH = "Asia/Shanghai"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_night_shift_spans_midnight_in_org_time() -> None:
    # 07:30 in Shanghai on 4 December: the 00:00-08:00 shift of that day.
    span = bounds(Window.SHIFT, utc(2026, 12, 3, 23, 30), SH)
    assert (span.start, span.end) == (utc(2026, 12, 3, 16), utc(2026, 12, 4, 0))
    # 23:59 local belongs to the 16:00-24:00 shift.
    late = bounds(Window.SHIFT, utc(2026, 12, 3, 15, 59), SH)
    assert (late.start, late.end) == (utc(2026, 12, 3, 8), utc(2026, 12, 3, 16))


def test_configured_shifts_are_used() -> None:
    shifts = parse_shifts("06:00, 18:00")
    assert shifts == (time(6), time(18))
    span = bounds(Window.SHIFT, utc(2026, 12, 3, 12), SH, shifts=shifts)  # 20:00 local
    assert (span.start, span.end) == (utc(2026, 12, 3, 10), utc(2026, 12, 3, 22))
    with pytest.raises(ValueError):
        parse_shifts(" , ")


def test_day_and_week_are_local() -> None:
    day = bounds(Window.DAY, utc(2026, 12, 3, 17), SH)  # 01:00 on the 4th locally
    assert (day.start, day.end) == (utc(2026, 12, 3, 16), utc(2026, 12, 4, 16))
    week = bounds(Window.WEEK, utc(2026, 12, 3, 17), SH)  # Friday 4 December
    assert (week.start, week.end) == (utc(2026, 11, 29, 16), utc(2026, 12, 6, 16))


def test_a_daylight_saving_day_is_23_hours_long() -> None:
    span = bounds(Window.DAY, utc(2026, 3, 29, 12), "Europe/Berlin")
    assert (span.end - span.start).total_seconds() == 23 * 3600


def test_cycle_to_date_runs_from_the_cycles_first_local_midnight_to_now() -> None:
    at = utc(2026, 12, 3, 9)
    span = bounds(Window.CYCLE_TO_DATE, at, SH, cycle_start=date(2026, 10, 1))
    assert span.start == utc(2026, 9, 30, 16) and span.start < at < span.end
    with pytest.raises(ValueError):
        bounds(Window.CYCLE_TO_DATE, at, SH)
