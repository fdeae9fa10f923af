"""The risk rule for key results (pure: no I/O, reused by the service and by backtests).

Seed rule from the customer: *a key result below plan by 20 % two weeks running is at risk.*

- The plan is linear from the baseline on the cycle's first day to the target on its last day,
  or follows a custom plan curve: points ``(date, progress)`` meaning "by the end of date,
  progress (0..1) is expected", linear between points (and from 0 the day before the cycle
  starts to the first point), flat after the last point. A check-in for ISO week W is compared
  with what the plan expects by the end of W.
- Progress is the share of the way from baseline to target (works for decreasing targets).
- A check-in is *behind* when its progress falls short of the expected progress by at least
  ``threshold`` of the expected progress: (expected - actual) / expected >= 0.2.
- The key result is *at risk* when its latest ``weeks`` check-ins (by week, whatever the gap
  between them) are all behind. A missed week does not reset the count: silence is not recovery.
- *Stay within* key results (e.g. downtime <= 4 h/week) have no plan: a check-in is behind when
  its value lies outside [lower, upper]; progress is the share of checked-in weeks within.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.goals.calendar import parse_week
from workflows.vocabulary import Risk

DEFAULT_THRESHOLD = 0.2
DEFAULT_WEEKS = 2
# Tolerance so that exactly 20 % short counts despite binary floating point.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Plan:
    baseline: float
    target: float
    start: date
    end: date
    # Custom plan curve: (date, expected progress 0..1), dates ascending; empty = linear.
    points: tuple[tuple[date, float], ...] = ()


@dataclass(frozen=True)
class Band:
    """A stay-within key result: every check-in should lie within [lower, upper]."""

    lower: float
    upper: float


@dataclass(frozen=True)
class Assessment:
    status: Risk
    progress: float = 0.0
    expected_progress: float = 0.0
    expected_value: float = 0.0
    shortfall: float = 0.0
    behind_streak: int = 0


# |progress| never exceeds this: a target a hair from the baseline (5e-324 from 0) would
# otherwise make the share overflow to ±inf, which JSON cannot carry (it came out as null).
MAX_PROGRESS = 1e6


def progress(plan: Plan, value: float) -> float:
    """Share of the way from baseline to target (1 = reached; may lie outside 0..1)."""
    share = (value - plan.baseline) / (plan.target - plan.baseline)
    return min(max(share, -MAX_PROGRESS), MAX_PROGRESS)


def expected_progress(plan: Plan, week: str) -> float:
    """Share of the way the plan expects by the end of ``week`` (0..1)."""
    _, sunday = parse_week(week)
    return progress_on(plan, sunday)


def progress_on(plan: Plan, day: date) -> float:
    """Share of the way the plan expects by the end of ``day`` (0..1)."""
    points = plan.points or ((plan.end, 1.0),)
    previous_day, previous = plan.start - timedelta(days=1), 0.0
    for point_day, expected in points:
        if day < point_day:
            span = (point_day - previous_day).days
            if span <= 0 or day <= previous_day:
                return min(max(previous, 0.0), 1.0)
            share = (day - previous_day).days / span
            return min(max(previous + (expected - previous) * share, 0.0), 1.0)
        previous_day, previous = point_day, expected
    return min(max(previous, 0.0), 1.0)


def shortfall(expected: float, actual: float) -> float:
    if expected <= 0:
        return 0.0
    return max((expected - actual) / expected, 0.0)


def assess(
    plan: Plan,
    check_ins: Sequence[tuple[str, float]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    weeks: int = DEFAULT_WEEKS,
) -> Assessment:
    """Assess a key result from its check-ins ``(week, value)``; the latest week counts as now."""
    if plan.target == plan.baseline or not math.isfinite(plan.target - plan.baseline):
        raise ValueError("target must differ from baseline")
    if not check_ins:
        return Assessment(Risk.NO_DATA)
    ordered = sorted(check_ins)
    streak = 0
    for week, value in reversed(ordered):
        if shortfall(expected_progress(plan, week), progress(plan, value)) >= threshold - _EPSILON:
            streak += 1
        else:
            break
    week, value = ordered[-1]
    exp = expected_progress(plan, week)
    actual = progress(plan, value)
    gap = shortfall(exp, actual)
    return Assessment(
        status=_status(streak, weeks),
        progress=actual,
        expected_progress=exp,
        expected_value=plan.baseline + (plan.target - plan.baseline) * exp,
        shortfall=gap,
        behind_streak=streak,
    )


def _status(streak: int, weeks: int) -> Risk:
    """Behind for ``weeks`` check-ins running is at risk; behind at all, behind."""
    if streak >= weeks:
        return Risk.AT_RISK
    return Risk.BEHIND if streak > 0 else Risk.ON_TRACK


def within(band: Band, value: float) -> bool:
    return band.lower - _EPSILON <= value <= band.upper + _EPSILON


def assess_band(
    band: Band, check_ins: Sequence[tuple[str, float]], *, weeks: int = DEFAULT_WEEKS
) -> Assessment:
    """Assess a stay-within key result: behind while outside the band, at risk after ``weeks``."""
    if not check_ins:
        return Assessment(Risk.NO_DATA)
    ordered = sorted(check_ins)
    streak = 0
    for _week, value in reversed(ordered):
        if within(band, value):
            break
        streak += 1
    share = sum(1 for _w, v in ordered if within(band, v)) / len(ordered)
    value = ordered[-1][1]
    return Assessment(
        status=_status(streak, weeks),
        progress=share,
        expected_progress=1.0,
        expected_value=min(max(value, band.lower), band.upper),
        shortfall=1.0 - share,
        behind_streak=streak,
    )
