"""OEE = availability × performance × quality, per line and shift (stride_mes_oee.oee)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stride_mes_oee.oee import Count, StateInterval, shift_oee

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 Shanghai: a shift start
END = T0 + timedelta(hours=8)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_textbook_shift() -> None:
    """420 min planned (60 min planned stop excluded), 47 min down: availability 373/420;
    19,271 parts at 1 s ideal: performance 19,271/22,380; 18,848 good: quality 18,848/19,271."""
    intervals = [
        StateInterval("line-a", "stop", at(0), at(60)),
        StateInterval("line-a", "run", at(60), at(200)),
        StateInterval("line-a", "downtime", at(200), at(247)),
        StateInterval("line-a", "run", at(247), at(480)),
    ]
    counts = [Count("line-a", at(300), 19_271, 18_848, 1.0)]
    figures = shift_oee(intervals, counts, T0, END)
    assert figures is not None
    assert figures.availability == pytest.approx(373 / 420)
    assert figures.performance == pytest.approx(19_271 / (373 * 60))
    assert figures.quality == pytest.approx(18_848 / 19_271)
    assert figures.oee == pytest.approx(
        figures.availability * figures.performance * figures.quality
    )
    assert figures.oee == pytest.approx(0.7479, abs=1e-4)


def test_intervals_are_clipped_to_the_shift_and_counts_taken_by_their_moment() -> None:
    intervals = [
        StateInterval("l", "run", at(-120), at(240)),  # began in the shift before
        StateInterval("l", "downtime", at(240), at(600)),  # runs into the next shift
    ]
    counts = [Count("l", at(-1), 500, 500, 10.0), Count("l", at(10), 1_000, 990, 10.0)]
    figures = shift_oee(intervals, counts, T0, END)
    assert figures is not None
    assert figures.availability == pytest.approx(0.5)
    assert figures.performance == pytest.approx(10_000 / (240 * 60))
    assert figures.quality == pytest.approx(0.99)


def test_performance_is_capped_and_no_parts_means_quality_one() -> None:
    run = [StateInterval("l", "run", T0, END)]
    fast = shift_oee(run, [Count("l", at(5), 100_000, 100_000, 1.0)], T0, END)
    assert fast is not None and fast.performance == 1.0
    idle = shift_oee(run, [], T0, END)
    assert idle is not None and (idle.performance, idle.quality, idle.oee) == (0.0, 1.0, 0.0)


def test_a_shift_without_planned_production_has_no_oee() -> None:
    assert shift_oee([StateInterval("l", "stop", T0, END)], [], T0, END) is None
    assert shift_oee([], [Count("l", at(1), 5, 5, 1.0)], T0, END) is None
