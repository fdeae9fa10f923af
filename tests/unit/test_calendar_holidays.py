"""Working days on the organisation's calendar (holidays, 调休) and quiet hours: pure rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from workflows.calendar import (
    QuietHours,
    WorkCalendar,
    add_working_days,
    is_working_day,
    local_instant,
    next_send_instant,
    next_working_day_at,
    parse_clock,
)

SH = "Asia/Shanghai"
# National Day 2026 as the State Council set it: 1–7 October off, Sunday 27 September and
# Saturday 10 October worked (调休).
NATIONAL_DAY = WorkCalendar.of([f"2026-10-0{d}" for d in range(1, 8)], ["2026-09-27", "2026-10-10"])


def test_holidays_are_not_working_days_and_adjusted_weekend_days_are() -> None:
    assert not is_working_day(date(2026, 10, 1), NATIONAL_DAY)  # Thursday, holiday
    assert is_working_day(date(2026, 10, 10), NATIONAL_DAY)  # Saturday, 调休
    assert not is_working_day(date(2026, 10, 11), NATIONAL_DAY)  # plain Sunday
    assert is_working_day(date(2026, 10, 1))  # without the calendar: a Thursday


def test_working_days_skip_the_national_day_week_and_count_the_adjusted_saturday() -> None:
    # Wednesday 30 September 10:00 + 2 working days: 1–7 off, Thursday 8, Friday 9.
    start = local_instant(date(2026, 9, 30), time(10), SH)
    assert add_working_days(start, 2, SH, NATIONAL_DAY) == local_instant(
        date(2026, 10, 9), time(10), SH
    )
    # + 3: Saturday 10 October is a working day.
    assert add_working_days(start, 3, SH, NATIONAL_DAY) == local_instant(
        date(2026, 10, 10), time(10), SH
    )
    # Friday 25 September + 1: the Sunday 27th is worked.
    friday = local_instant(date(2026, 9, 25), time(10), SH)
    assert add_working_days(friday, 1, SH, NATIONAL_DAY) == local_instant(
        date(2026, 9, 27), time(10), SH
    )
    # Without the calendar, plain Mon–Fri.
    assert add_working_days(start, 2, SH) == local_instant(date(2026, 10, 2), time(10), SH)


def test_a_reminder_on_a_holiday_moves_to_the_first_working_day() -> None:
    monday = local_instant(date(2026, 10, 5), time(9), SH)
    assert next_working_day_at(monday, SH, NATIONAL_DAY) == local_instant(
        date(2026, 10, 8), time(9), SH
    )
    tuesday = local_instant(date(2026, 10, 13), time(9), SH)
    assert next_working_day_at(tuesday, SH, NATIONAL_DAY) == tuesday


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 12, 2, 21, 59), datetime(2026, 12, 2, 21, 59)),
        (datetime(2026, 12, 2, 22, 0), datetime(2026, 12, 3, 8, 0)),
        (datetime(2026, 12, 2, 23, 0), datetime(2026, 12, 3, 8, 0)),
        (datetime(2026, 12, 3, 0, 30), datetime(2026, 12, 3, 8, 0)),
        (datetime(2026, 12, 3, 7, 59), datetime(2026, 12, 3, 8, 0)),
        (datetime(2026, 12, 3, 8, 0), datetime(2026, 12, 3, 8, 0)),
    ],
)
def test_nothing_is_sent_in_the_quiet_hours(local: datetime, expected: datetime) -> None:
    now = local_instant(local.date(), local.time(), SH)
    assert next_send_instant(now, SH, QuietHours()) == local_instant(
        expected.date(), expected.time(), SH
    )


def test_quiet_hours_within_a_day_and_switched_off() -> None:
    lunch = QuietHours(time(12), time(13, 30))
    now = local_instant(date(2026, 12, 2), time(12, 15), SH)
    assert next_send_instant(now, SH, lunch) == local_instant(date(2026, 12, 2), time(13, 30), SH)
    off = QuietHours(time(0), time(0))
    late = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert next_send_instant(late, SH, off) == late


def test_clock_times_are_hh_mm() -> None:
    assert parse_clock("08:00") == time(8)
    for bad in ("8:00", "24:00", "08:60", "0800", "aa:bb"):
        with pytest.raises(ValueError):
            parse_clock(bad)
