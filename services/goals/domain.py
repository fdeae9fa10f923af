"""Pure goals rules: validation of cycles, objectives, key results and check-ins (no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from services.common.errors import FailedPrecondition, InvalidArgument
from services.goals.calendar import parse_date, parse_week, week_of, zone

MAX_TITLE = 300
MAX_NOTE = 4000
MAX_UNIT = 32
MAX_CYCLE_DAYS = 400


def clean_text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidArgument(f"{field}_required", f"{field} must not be empty")
    if len(text) > limit:
        raise InvalidArgument(f"{field}_too_long", f"{field} must be at most {limit} characters")
    return text


def number(value: float, field: str) -> float:
    if not math.isfinite(value):
        raise InvalidArgument(f"invalid_{field}", f"{field} must be a finite number")
    if value < 0:
        raise InvalidArgument(f"negative_{field}", f"{field} must not be negative")
    return value


@dataclass(frozen=True)
class NewCycle:
    name: str
    start: date
    end: date
    time_zone: str


def new_cycle(name: str, start: str, end: str, time_zone: str, default_zone: str) -> NewCycle:
    tz = time_zone.strip() or default_zone
    zone(tz)
    first, last = parse_date(start, "start_date"), parse_date(end, "end_date")
    if last <= first:
        raise InvalidArgument("invalid_cycle_dates", "end_date must be after start_date")
    if (last - first).days > MAX_CYCLE_DAYS:
        raise InvalidArgument("cycle_too_long", f"a cycle spans at most {MAX_CYCLE_DAYS} days")
    return NewCycle(clean_text(name, "name", 200), first, last, tz)


def ensure_open(status: str) -> None:
    if status != "open":
        raise FailedPrecondition("cycle_closed", "the cycle is closed")


@dataclass(frozen=True)
class NewKeyResult:
    title: str
    baseline: float
    target: float
    unit: str


def new_key_result(title: str, baseline: float, target: float, unit: str) -> NewKeyResult:
    base, goal = number(baseline, "baseline"), number(target, "target")
    if base == goal:
        raise InvalidArgument("target_equals_baseline", "target must differ from baseline")
    return NewKeyResult(
        clean_text(title, "title", MAX_TITLE),
        base,
        goal,
        clean_text(unit, "unit", MAX_UNIT, required=False),
    )


@dataclass(frozen=True)
class NewCheckIn:
    week: str
    value: float
    confidence: int
    note: str


def new_check_in(
    value: float,
    confidence: int,
    note: str,
    week: str,
    *,
    today: date,
    cycle_start: date,
    cycle_end: date,
) -> NewCheckIn:
    """Validate a check-in; ``week`` defaults to the week of ``today`` (cycle's zone)."""
    checked = number(value, "value")
    if not 0 <= confidence <= 10:
        raise InvalidArgument("invalid_confidence", "confidence must be 0..10")
    week = week.strip() or week_of(today)
    monday, sunday = parse_week(week)
    if monday > today:
        raise InvalidArgument("week_in_future", f"{week} has not started yet")
    if sunday < cycle_start or monday > cycle_end:
        raise InvalidArgument("week_outside_cycle", f"{week} is not part of the cycle")
    return NewCheckIn(week, checked, confidence, clean_text(note, "note", MAX_NOTE, required=False))
