from datetime import date

import pytest

from services.goals.risk import Plan, Risk, assess, expected_progress

# Q4 2026: 92 days. The end of 2026-W46 (Sunday 15 Nov) is day 46: half the plan.
Q4 = Plan(baseline=0, target=100, start=date(2026, 10, 1), end=date(2026, 12, 31))


def test_linear_plan_by_end_of_week() -> None:
    assert expected_progress(Q4, "2026-W46") == pytest.approx(0.5)
    assert expected_progress(Q4, "2026-W40") == pytest.approx(4 / 92)  # Thu 1 – Sun 4 Oct
    assert expected_progress(Q4, "2027-W01") == 1.0  # after the cycle: the whole plan


def test_no_check_ins_is_no_data() -> None:
    assert assess(Q4, []).status is Risk.NO_DATA


def test_on_plan_is_on_track() -> None:
    result = assess(Q4, [("2026-W46", 50)])
    assert result.status is Risk.ON_TRACK
    assert result.expected_value == pytest.approx(50)
    assert result.behind_streak == 0


def test_one_lagging_week_is_behind_not_at_risk() -> None:
    result = assess(Q4, [("2026-W46", 39)])  # 22 % short of 50 %
    assert result.status is Risk.BEHIND
    assert result.shortfall == pytest.approx(0.22)
    assert result.behind_streak == 1


def test_exactly_twenty_percent_counts_as_behind() -> None:
    assert assess(Q4, [("2026-W46", 40)]).status is Risk.BEHIND


def test_two_lagging_weeks_running_are_at_risk() -> None:
    result = assess(Q4, [("2026-W46", 30), ("2026-W47", 35)])
    assert result.status is Risk.AT_RISK
    assert result.behind_streak == 2


def test_recovery_breaks_the_streak() -> None:
    checks = [("2026-W45", 10), ("2026-W46", 20), ("2026-W47", 56)]
    assert assess(Q4, checks).status is Risk.ON_TRACK


def test_a_missed_week_does_not_reset_the_streak() -> None:
    assert assess(Q4, [("2026-W44", 10), ("2026-W46", 20)]).status is Risk.AT_RISK


def test_order_of_input_does_not_matter() -> None:
    assert assess(Q4, [("2026-W47", 35), ("2026-W46", 30)]).status is Risk.AT_RISK


def test_decreasing_target() -> None:
    # Downtime from 10 h/week down to 4 h: 7 h at mid-cycle is exactly on plan.
    plan = Plan(baseline=10, target=4, start=Q4.start, end=Q4.end)
    assert assess(plan, [("2026-W46", 7)]).status is Risk.ON_TRACK
    assert assess(plan, [("2026-W45", 10), ("2026-W46", 9.5)]).status is Risk.AT_RISK


def test_target_equal_to_baseline_is_rejected() -> None:
    with pytest.raises(ValueError):
        assess(Plan(5, 5, Q4.start, Q4.end), [("2026-W46", 5)])
