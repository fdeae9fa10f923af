from datetime import date

import pytest

from services.goals.risk import Band, Plan, Risk, assess, assess_band, expected_progress

START, END = date(2026, 10, 1), date(2026, 12, 31)


def test_custom_curve_is_linear_between_points_and_flat_after_the_last() -> None:
    # Slow start: 10 % by 31 Oct, 60 % by 30 Nov (and no more after that).
    plan = Plan(0, 100, START, END, ((date(2026, 10, 31), 0.1), (date(2026, 11, 30), 0.6)))
    # 2026-W43 ends Sun 25 Oct: 25 of the 31 days up to 31 Oct.
    assert expected_progress(plan, "2026-W43") == pytest.approx(0.1 * 25 / 31)
    # 2026-W46 ends Sun 15 Nov: 15 of 30 days from 31 Oct to 30 Nov.
    assert expected_progress(plan, "2026-W46") == pytest.approx(0.1 + 0.5 * 15 / 30)
    assert expected_progress(plan, "2027-W01") == pytest.approx(0.6)
    # Behind a linear plan but on this curve.
    assert assess(plan, [("2026-W46", 33)]).status is Risk.ON_TRACK
    assert assess(Plan(0, 100, START, END), [("2026-W46", 33)]).status is Risk.BEHIND


def test_curve_ending_on_the_last_day_equals_the_linear_plan() -> None:
    linear = Plan(0, 100, START, END)
    explicit = Plan(0, 100, START, END, ((END, 1.0),))
    for week in ("2026-W40", "2026-W46", "2026-W53", "2027-W01"):
        assert expected_progress(explicit, week) == pytest.approx(expected_progress(linear, week))


def test_decrease_behind_with_a_curve() -> None:
    plan = Plan(10, 4, START, END, ((date(2026, 11, 15), 0.5),))
    assert assess(plan, [("2026-W46", 7)]).status is Risk.ON_TRACK
    assert assess(plan, [("2026-W45", 10), ("2026-W46", 9)]).status is Risk.AT_RISK


def test_stay_within_band() -> None:
    band = Band(0, 4)
    assert assess_band(band, []).status is Risk.NO_DATA
    inside = assess_band(band, [("2026-W45", 3), ("2026-W46", 4)])
    assert inside.status is Risk.ON_TRACK and inside.progress == 1.0
    once = assess_band(band, [("2026-W45", 3), ("2026-W46", 5)])
    assert once.status is Risk.BEHIND and once.shortfall == pytest.approx(0.5)
    assert once.expected_value == 4
    twice = assess_band(band, [("2026-W44", 6), ("2026-W45", 3), ("2026-W46", 5), ("2026-W47", 7)])
    assert twice.status is Risk.AT_RISK and twice.behind_streak == 2
