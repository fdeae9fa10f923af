"""Talent tags and manager dimensions with known answers (the numbers of docs/talent.md)."""

from __future__ import annotations

import pytest

from services.feedback.domain import talent
from services.feedback.domain.talent import Punctuality


def test_steady_high_scores_are_stable() -> None:
    s = talent.stability([0.8, 0.75, 0.85, 0.8])
    assert s.cycles == 4
    assert s.level == pytest.approx(0.8)
    # deviations 0, -0.05, 0.05, 0 -> variance 0.005 / 4 = 0.00125
    assert s.spread == pytest.approx(0.035355, abs=1e-6)
    assert s.stable


def test_one_bad_quarter_is_not_stable() -> None:
    s = talent.stability([0.8, 0.8, 0.8, 0.4])
    assert s.level == pytest.approx(0.7)
    assert s.spread == pytest.approx(0.173205, abs=1e-6)
    assert not s.stable


def test_steady_but_low_is_not_stable_and_one_cycle_is_no_pattern() -> None:
    assert not talent.stability([0.5, 0.5, 0.5]).stable
    one = talent.stability([0.95])
    assert (one.level, one.spread) == (0.95, 0.0)
    assert not one.stable
    assert talent.stability([]) == talent.Stability(0, 0.0, 0.0)


def test_innovation_points() -> None:
    i = talent.innovation([0.9, 0.69, 0.7], improvement_praise=1, accepted_challenges=0)
    assert (i.stretch_objectives, i.stretch_met) == (3, 2)
    assert i.points == 2 * 2 + 1
    assert i.innovative
    low = talent.innovation([0.5], improvement_praise=1, accepted_challenges=1)
    assert low.points == 2
    assert not low.innovative


def test_candidates() -> None:
    stable = talent.stability([0.8, 0.75, 0.85, 0.8])
    erratic = talent.stability([0.8, 0.8, 0.8, 0.4])
    innovative = talent.innovation([0.9], 1, 0)
    plain = talent.innovation([], 0, 0)
    assert talent.candidate_reasons(stable, innovative) == ["stable", "innovative"]
    assert talent.candidate_reasons(stable, plain) == []
    assert talent.candidate_reasons(stable, plain, "A") == ["stable", "top_rated"]
    assert talent.candidate_reasons(erratic, innovative, "S") == ["innovative", "top_rated"]
    assert talent.candidate_reasons(stable, innovative, "B") == ["stable", "innovative"]
    # A low latest final rating rules the person out whatever the tags say.
    assert talent.candidate_reasons(stable, innovative, "C") == []
    assert talent.candidate_reasons(erratic, plain, "S") == []


def test_goal_challenge() -> None:
    g = talent.goal_challenge([True, False, False, True], [(100, 120), (4, 2), (0, 1), (50, 55)])
    assert g.stretch_share == 0.5
    # uplifts 0.2, 0.5, (none: baseline 0), 0.1 -> median 0.2
    assert g.ambition == pytest.approx(0.2)
    empty = talent.goal_challenge([], [(0, 1)])
    assert (empty.stretch_share, empty.ambition) == (None, None)


def test_uplift_is_relative_and_direction_free() -> None:
    assert talent.uplift(4.0, 2.0) == 0.5
    assert talent.uplift(-10.0, -5.0) == 0.5
    assert talent.uplift(0.0, 3.0) is None


def test_transparency_sums_the_team() -> None:
    t = talent.transparency(Punctuality(4, 3), [Punctuality(8, 8), Punctuality(8, 4)])
    assert t.manager.share == 0.75
    assert t.team == Punctuality(16, 12)
    assert t.team.share == 0.75
    assert talent.transparency(Punctuality(0, 0), []).team.share is None


def test_check_in_punctuality_in_the_cycle_time_zone() -> None:
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from services.goals.domain import punctuality

    # Weeks overlapping 2026-03-04 (a Wednesday) .. 2026-03-31 whose Sunday is before
    # Monday 2026-03-23: W10 (Mar 2-8), W11, W12 (Mar 16-22).
    weeks = punctuality.finished_weeks(date(2026, 3, 4), date(2026, 3, 31), date(2026, 3, 23))
    assert weeks == ["2026-W10", "2026-W11", "2026-W12"]
    shanghai = ZoneInfo("Asia/Shanghai")
    first = {
        # Sunday 23:30 in Shanghai (15:30 UTC): on time.
        "2026-W10": datetime(2026, 3, 8, 15, 30, tzinfo=UTC),
        # Monday 00:30 in Shanghai (Sunday 16:30 UTC): late.
        "2026-W11": datetime(2026, 3, 15, 16, 30, tzinfo=UTC),
    }
    assert punctuality.on_time_weeks(first, weeks, shanghai) == 1
    assert punctuality.on_time_weeks(first, weeks, ZoneInfo("UTC")) == 2
