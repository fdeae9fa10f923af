"""The weekly risk sweep's rule: a silent week is a check-in carrying the last value forward."""

from datetime import date

import pytest

from services.goals.risk import Plan, Risk, assess
from services.goals.sweep import Skip, carried_check_ins, silent_weeks, week_ended_before

Q4 = Plan(baseline=0, target=100, start=date(2026, 10, 1), end=date(2026, 12, 31))
CYCLE = {"cycle_start": Q4.start, "cycle_end": Q4.end}


def test_silent_weeks_run_from_after_the_last_check_in_to_the_swept_week() -> None:
    assert silent_weeks("2026-W46", "2026-W48") == ["2026-W47", "2026-W48"]
    # Across the year end (2026 has 53 ISO weeks).
    assert silent_weeks("2026-W52", "2027-W01") == ["2026-W53", "2027-W01"]
    assert silent_weeks("2026-W48", "2026-W48") == []


def test_a_silent_week_carries_the_last_value_forward() -> None:
    checks = carried_check_ins([("2026-W46", 50.0)], "2026-W47", **CYCLE)
    assert checks == [("2026-W46", 50.0), ("2026-W47", 50.0)]


def test_silence_is_not_recovery_a_behind_key_result_becomes_at_risk() -> None:
    # Behind in W46 (39 of the 50 expected); nobody checks in for W47: the plan moved on.
    assert assess(Q4, [("2026-W46", 39.0)]).status is Risk.BEHIND
    checks = carried_check_ins([("2026-W46", 39.0)], "2026-W47", **CYCLE)
    assert not isinstance(checks, Skip)
    result = assess(Q4, checks)
    assert result.status is Risk.AT_RISK
    assert result.behind_streak == 2


def test_an_on_track_key_result_silent_for_weeks_falls_behind_then_at_risk() -> None:
    # On plan in W44 (about 40 %); its value stays at 40 while the plan climbs.
    one = carried_check_ins([("2026-W44", 40.0)], "2026-W45", **CYCLE)
    assert not isinstance(one, Skip)
    assert assess(Q4, one).status is Risk.ON_TRACK
    three = carried_check_ins([("2026-W44", 40.0)], "2026-W48", **CYCLE)
    assert not isinstance(three, Skip)
    assert assess(Q4, three).status is Risk.AT_RISK


def test_never_checked_in_key_results_are_skipped() -> None:
    assert carried_check_ins([], "2026-W47", **CYCLE) is Skip.NEVER_CHECKED_IN


def test_checked_in_for_the_week_or_later_is_not_swept() -> None:
    assert carried_check_ins([("2026-W47", 1.0)], "2026-W47", **CYCLE) is Skip.CHECKED_IN
    assert carried_check_ins([("2026-W48", 1.0)], "2026-W47", **CYCLE) is Skip.CHECKED_IN


def test_a_week_swept_already_is_not_swept_again() -> None:
    checks = [("2026-W46", 39.0)]
    assert carried_check_ins(checks, "2026-W47", last_swept_week="2026-W47", **CYCLE) is (
        Skip.ALREADY_SWEPT
    )
    assert carried_check_ins(checks, "2026-W47", last_swept_week="2026-W48", **CYCLE) is (
        Skip.ALREADY_SWEPT
    )
    # The week before was swept: this one is new.
    assert carried_check_ins(checks, "2026-W48", last_swept_week="2026-W47", **CYCLE) == [
        ("2026-W46", 39.0),
        ("2026-W47", 39.0),
        ("2026-W48", 39.0),
    ]


def test_weeks_outside_the_cycle_are_not_swept() -> None:
    checks = [("2026-W46", 39.0)]
    assert carried_check_ins(checks, "2027-W02", **CYCLE) is Skip.OUTSIDE_CYCLE
    assert carried_check_ins(checks, "2026-W39", **CYCLE) is Skip.OUTSIDE_CYCLE
    # The cycle's last (partial) week still counts.
    assert not isinstance(carried_check_ins(checks, "2026-W53", **CYCLE), Skip)


def test_a_week_not_over_or_a_closed_objective_is_not_swept() -> None:
    checks = [("2026-W46", 39.0)]
    # W47 ends on Sunday 22 Nov: on that Sunday it is not over yet, on Monday it is.
    assert carried_check_ins(checks, "2026-W47", today=date(2026, 11, 22), **CYCLE) is (
        Skip.NOT_OVER
    )
    assert not isinstance(
        carried_check_ins(checks, "2026-W47", today=date(2026, 11, 23), **CYCLE), Skip
    )
    assert carried_check_ins(checks, "2026-W47", objective_closed=True, **CYCLE) is Skip.CLOSED


def test_the_week_ended_before_a_monday_is_last_week() -> None:
    assert week_ended_before(date(2026, 11, 30)) == "2026-W48"  # Monday of W49
    assert week_ended_before(date(2026, 12, 6)) == "2026-W48"  # Sunday of W49


def test_not_a_week_is_refused() -> None:
    with pytest.raises(ValueError):
        carried_check_ins([("2026-W46", 1.0)], "2026-48", **CYCLE)
