"""Pure calendar helpers and the cycle's step plan: local times, working days, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.goals.domain import new_cycle
from workflows.calendar import (
    MONDAY,
    add_working_days,
    end_of_day,
    iso_week,
    local_instant,
    next_weekday_at,
    weekly_instants,
)
from workflows.cycle import CycleInput, calendar_of, cycle_steps

SH = "Asia/Shanghai"
NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_next_monday_0900_in_shanghai_is_0100_utc() -> None:
    # Friday 27 Nov 2026 → Monday 30 Nov 09:00 Shanghai.
    assert next_weekday_at(utc(2026, 11, 27, 12), MONDAY, time(9), SH) == utc(2026, 11, 30, 1)
    # Exactly at Monday 09:00: the following Monday (strictly after).
    assert next_weekday_at(utc(2026, 11, 30, 1), MONDAY, time(9), SH) == utc(2026, 12, 7, 1)
    # Sunday 20:00 UTC is already Monday 04:00 in Shanghai: the same local Monday.
    assert next_weekday_at(utc(2026, 11, 29, 20), MONDAY, time(9), SH) == utc(2026, 11, 30, 1)


def test_monday_0900_stays_local_across_dst_in_new_york() -> None:
    # DST starts Sunday 14 March 2027 in New York: 09:00 EST = 14:00 UTC, 09:00 EDT = 13:00.
    mondays = weekly_instants(date(2027, 3, 1), date(2027, 3, 22), MONDAY, time(9), NY)
    assert mondays == [
        utc(2027, 3, 1, 14),
        utc(2027, 3, 8, 14),
        utc(2027, 3, 15, 13),
        utc(2027, 3, 22, 13),
    ]
    # And back in November (DST ends Sunday 7 November 2027).
    assert next_weekday_at(utc(2027, 11, 5), MONDAY, time(9), NY) == utc(2027, 11, 8, 14)
    # A wall-clock time inside the spring-forward gap resolves to a real instant.
    assert local_instant(date(2027, 3, 14), time(2, 30), NY) == utc(2027, 3, 14, 7, 30)


def test_working_days_skip_weekends_and_keep_the_local_time() -> None:
    friday_10 = local_instant(date(2026, 12, 4), time(10), SH)
    assert add_working_days(friday_10, 2, SH) == local_instant(date(2026, 12, 8), time(10), SH)
    assert add_working_days(friday_10, 5, SH) == local_instant(date(2026, 12, 11), time(10), SH)
    saturday = local_instant(date(2026, 12, 5), time(10), SH)
    assert add_working_days(saturday, 1, SH) == local_instant(date(2026, 12, 7), time(10), SH)
    wednesday = local_instant(date(2026, 12, 2), time(23, 30), SH)
    assert add_working_days(wednesday, 2, SH) == local_instant(date(2026, 12, 4), time(23, 30), SH)
    with pytest.raises(ValueError):
        add_working_days(friday_10, -1, SH)


def test_end_of_day_and_iso_week_use_the_zone() -> None:
    assert end_of_day(date(2026, 12, 31), SH) == utc(2026, 12, 31, 16)
    # 20:00 UTC on Sunday 29 Nov is Monday in Shanghai (week 49), Sunday in New York (48).
    assert iso_week(utc(2026, 11, 29, 20), SH) == "2026-W49"
    assert iso_week(utc(2026, 11, 29, 20), NY) == "2026-W48"


def test_cycle_calendar_defaults_and_bad_dates() -> None:
    cal = calendar_of(CycleInput("c", "2027-01-01", "2027-03-31"))
    assert (cal.planning_deadline, cal.approval_deadline, cal.closing_deadline) == (
        date(2027, 1, 8),
        date(2027, 1, 15),
        date(2027, 4, 7),
    )
    with pytest.raises(ValueError):
        calendar_of(CycleInput("c", "2027-03-31", "2027-01-01"))
    with pytest.raises(ValueError):
        cycle_steps(CycleInput("c", "2027-01-01", "2027-03-31", time_zone="Mars/Olympus"))


def test_cycle_steps_in_new_york_follow_local_time_through_dst() -> None:
    steps = cycle_steps(CycleInput("c", "2027-01-01", "2027-03-31", time_zone=NY))
    checkins = [s for s in steps if s.key.startswith("checkin/")]
    local = [datetime.fromisoformat(s.at).astimezone(ZoneInfo(NY)) for s in checkins]
    assert all((t.weekday(), t.time()) == (0, time(9)) for t in local)
    assert checkins[0].key == "checkin/2027-W03" and checkins[-1].key == "checkin/2027-W13"
    digests = [s for s in steps if s.key.startswith("digest/")]
    assert all(s.week_end for s in digests) and len(digests) == len(checkins)
    keys = [s.key for s in steps]
    assert len(keys) == len(set(keys))
    order = [s.key for s in steps if s.kind in ("phase", "close")]
    assert order == [
        "phase/planning",
        "phase/approval",
        "phase/execution",
        "phase/closing",
        "close",
    ]
    ats = [s.at for s in steps]
    assert ats == sorted(ats)
    assert steps[-1].key == "closed"
    assert datetime.fromisoformat(steps[-1].at) - datetime.fromisoformat(
        next(s.at for s in steps if s.key == "phase/closing")
    ) == timedelta(days=7)


@pytest.mark.parametrize(
    ("start", "end"),
    [("2027-01-01", "2027-03-31"), ("2027-01-01", "2027-01-05"), ("2027-01-01", "2027-01-10")],
)
def test_cycle_calendar_defaults_are_goals_defaults(start: str, end: str) -> None:
    """A cycle created without deadlines: the workflow plans on the deadlines goals stored
    (both clamp planning and approval to the end date of a short cycle)."""
    cycle = new_cycle("Sprint", start, end, "", "Asia/Shanghai")
    cal = calendar_of(CycleInput("c", start, end))
    assert (cal.planning_deadline, cal.approval_deadline, cal.closing_deadline) == (
        cycle.planning_deadline,
        cycle.approval_deadline,
        cycle.closing_deadline,
    )
    assert cal.approval_deadline <= cal.end


def test_a_given_planning_deadline_moves_the_default_approval_deadline() -> None:
    cal = calendar_of(CycleInput("c", "2027-01-01", "2027-03-31", planning_deadline="2027-01-20"))
    assert (cal.planning_deadline, cal.approval_deadline) == (date(2027, 1, 20), date(2027, 1, 20))
    cycle = new_cycle("Q1", "2027-01-01", "2027-03-31", "", "UTC", planning_deadline="2027-01-20")
    assert cycle.approval_deadline == date(2027, 1, 20)
