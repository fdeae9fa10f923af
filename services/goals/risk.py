"""The risk rule for key results (pure: no I/O, reused by the service and by backtests).

Seed rule from the customer: *a key result below plan by 20 % two weeks running is at risk.*

- The plan is linear from the baseline on the cycle's first day to the target on its last day;
  a check-in for ISO week W is compared with what the plan expects by the end of W.
- Progress is the share of the way from baseline to target (works for decreasing targets).
- A check-in is *behind* when its progress falls short of the expected progress by at least
  ``threshold`` of the expected progress: (expected - actual) / expected >= 0.2.
- The key result is *at risk* when its latest ``weeks`` check-ins (by week, whatever the gap
  between them) are all behind. A missed week does not reset the count: silence is not recovery.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.goals.calendar import parse_week

DEFAULT_THRESHOLD = 0.2
DEFAULT_WEEKS = 2
# Tolerance so that exactly 20 % short counts despite binary floating point.
_EPSILON = 1e-9


class Risk(StrEnum):
    NO_DATA = "no_data"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    AT_RISK = "at_risk"


@dataclass(frozen=True)
class Plan:
    baseline: float
    target: float
    start: date
    end: date


@dataclass(frozen=True)
class Assessment:
    status: Risk
    progress: float = 0.0
    expected_progress: float = 0.0
    expected_value: float = 0.0
    shortfall: float = 0.0
    behind_streak: int = 0


def progress(plan: Plan, value: float) -> float:
    return (value - plan.baseline) / (plan.target - plan.baseline)


def expected_progress(plan: Plan, week: str) -> float:
    """Share of the way the linear plan expects by the end of ``week`` (0..1)."""
    _, sunday = parse_week(week)
    total = (plan.end - plan.start).days + 1
    elapsed = (min(sunday, plan.end) - plan.start).days + 1
    return min(max(elapsed / total, 0.0), 1.0)


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
    if streak >= weeks:
        status = Risk.AT_RISK
    elif streak > 0:
        status = Risk.BEHIND
    else:
        status = Risk.ON_TRACK
    return Assessment(
        status=status,
        progress=actual,
        expected_progress=exp,
        expected_value=plan.baseline + (plan.target - plan.baseline) * exp,
        shortfall=gap,
        behind_streak=streak,
    )
