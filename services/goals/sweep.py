"""The weekly risk sweep's rule (pure: no I/O; used by the goals service's ``SweepRisk``).

*Silence is not recovery.* The risk rule (:mod:`services.goals.risk`) assesses a key result
when its owner checks in. An owner who stops checking in would otherwise keep the last
assessment for ever: a key result that was behind would never become at risk, and one that was
on track would stay on track while the plan moves on. So after the weekly check-in deadline the
sweep looks at the week that just ended: a key result with no check-in for that week (nor
later) is assessed as if each silent week since its latest check-in had been a check-in with
that latest value — the plan moved on, the value did not.

- A key result that was never checked in is not swept (there is no value to carry; its status
  stays ``no_data`` and the Monday check-in reminder chases its owner).
- A key result checked in for the week, or for a later one, is not swept (the check-in was
  assessed when it was recorded).
- A week before the cycle's first week or after its last is not swept.
- A key result is swept at most once per week (``last_swept_week``): sweeping the same week
  again changes nothing.

Nothing is stored as a check-in: the carried weeks exist only inside this assessment (a later
real check-in is assessed from the real check-ins, as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from enum import StrEnum

from workflows.vocabulary import week_bounds, week_of


class Skip(StrEnum):
    """Why a key result is not swept for a week."""

    NEVER_CHECKED_IN = "never_checked_in"
    CHECKED_IN = "checked_in"
    OUTSIDE_CYCLE = "outside_cycle"
    ALREADY_SWEPT = "already_swept"
    # The week is not over yet in the cycle's time zone (a sweep run from another zone).
    NOT_OVER = "not_over"
    # The key result's objective closed.
    CLOSED = "closed"


def silent_weeks(last_check_in_week: str, week: str) -> list[str]:
    """The ISO weeks after ``last_check_in_week`` up to and including ``week`` (empty when
    ``week`` is not later)."""
    last, until = week_bounds(last_check_in_week), week_bounds(week)
    if last is None or until is None:
        raise ValueError(f"not ISO weeks: {last_check_in_week!r}, {week!r}")
    out: list[str] = []
    monday = last[0] + timedelta(days=7)
    while monday <= until[0]:
        out.append(week_of(monday))
        monday += timedelta(days=7)
    return out


def carried_check_ins(
    check_ins: Sequence[tuple[str, float]],
    week: str,
    *,
    cycle_start: date,
    cycle_end: date,
    last_swept_week: str = "",
    today: date | None = None,
    objective_closed: bool = False,
) -> list[tuple[str, float]] | Skip:
    """The check-ins ``(week, value)`` to assess a silent ``week`` with — the real ones plus
    every silent week since the latest, carrying its value — or why the key result is not
    swept for ``week`` (``today``: the local date in the cycle's time zone, when given)."""
    bounds = week_bounds(week)
    if bounds is None:
        raise ValueError(f"not an ISO week: {week!r}")
    monday, sunday = bounds
    if today is not None and sunday >= today:
        return Skip.NOT_OVER
    if objective_closed:
        return Skip.CLOSED
    if sunday < cycle_start or monday > cycle_end:
        return Skip.OUTSIDE_CYCLE
    if not check_ins:
        return Skip.NEVER_CHECKED_IN
    last_week, last_value = max(check_ins)
    if last_week >= week:
        return Skip.CHECKED_IN
    if last_swept_week and last_swept_week >= week:
        return Skip.ALREADY_SWEPT
    return [*sorted(check_ins), *((w, last_value) for w in silent_weeks(last_week, week))]


def week_ended_before(today: date) -> str:
    """The ISO week that ended last before ``today`` (local date): last week."""
    return week_of(today - timedelta(days=7))
