"""Cycle rules: dates and deadlines, phases, open/closed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from services.common.errors import FailedPrecondition, InvalidArgument
from services.goals.calendar import parse_date, zone
from services.goals.domain.common import clean_text
from workflows.vocabulary import (
    MAX_NAME,
    ObjectiveStatus,
    Phase,
    cycle_dates_problem,
    deadlines,
)


# --- cycles ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewCycle:
    name: str
    start: date
    end: date
    time_zone: str
    planning_deadline: date
    approval_deadline: date
    closing_deadline: date


def new_cycle(
    name: str,
    start: str,
    end: str,
    time_zone: str,
    default_zone: str,
    planning_deadline: str = "",
    approval_deadline: str = "",
    closing_deadline: str = "",
) -> NewCycle:
    tz = time_zone.strip() or default_zone
    zone(tz)
    first, last = parse_date(start, "start_date"), parse_date(end, "end_date")
    given = (
        _optional_date(planning_deadline, "planning_deadline"),
        _optional_date(approval_deadline, "approval_deadline"),
        _optional_date(closing_deadline, "closing_deadline"),
    )
    problem = cycle_dates_problem(first, last, *given)
    if problem is not None:
        raise InvalidArgument(*problem)
    planning, approval, closing = deadlines(first, last, *given)
    if not first <= planning <= last:
        raise InvalidArgument(
            "invalid_planning_deadline", "planning_deadline must lie within the cycle"
        )
    if not planning <= approval <= last:
        raise InvalidArgument(
            "invalid_approval_deadline",
            "approval_deadline must lie between the planning deadline and the cycle's end",
        )
    if closing < last:
        raise InvalidArgument(
            "invalid_closing_deadline", "closing_deadline must not be before the cycle's end"
        )
    return NewCycle(
        clean_text(name, "name", MAX_NAME), first, last, tz, planning, approval, closing
    )


def _optional_date(value: str, field: str) -> date | None:
    return parse_date(value.strip(), field) if value.strip() else None


def ensure_open(status: str) -> None:
    if status != "open":
        raise FailedPrecondition("cycle_closed", "the cycle is closed")


def phase_change(status: str, current: str, wanted: str) -> bool:
    """Whether SetCyclePhase changes anything (False: already there, idempotent)."""
    if wanted == current:
        return False
    ensure_open(status)
    if wanted == Phase.ARCHIVED:
        raise InvalidArgument(
            "use_close_cycle", "a cycle is archived by closing it (final scoring)"
        )
    return True


def check_self_score(phase: str, value: float) -> float:
    if phase != Phase.CLOSING:
        raise FailedPrecondition(
            "not_closing_phase", "self-scores are given in the cycle's closing phase"
        )
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise InvalidArgument("invalid_self_score", "self_score must be 0..1")
    return value


def is_backfill(end: date, today: date) -> bool:
    """A cycle created after its last day (``today`` in its time zone) is being backfilled:
    its workflow waits for HR to close it instead of closing it after the closing deadline."""
    return end < today


def closes_with_cycle(objective_status: str) -> bool:
    """Whether closing the cycle closes (and so scores) an objective: approved ones only.
    Drafts and plans still awaiting approval were never agreed; they stay as they are,
    unscored."""
    return objective_status == ObjectiveStatus.APPROVED


def in_scores(cycle_status: str, objective_status: str) -> bool:
    """Whether an objective counts in its cycle's scores: every objective while the cycle is
    open (live scores); once it is closed, those closed with it (the final scores)."""
    return cycle_status != "closed" or objective_status == ObjectiveStatus.CLOSED
