"""Key-result rules: kinds, directions, bounds, weights, confidence, plan curves."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from services.common.errors import InvalidArgument
from services.goals.calendar import parse_date
from services.goals.domain.common import CURRENCY, clean_text, number
from workflows.vocabulary import (
    DATA_SOURCES,
    DIRECTIONS,
    KINDS,
    MAX_MILESTONES,
    MAX_PLAN_POINTS,
    MAX_TITLE,
    MAX_UNIT,
)

# A list of key results names at most this many owners (a manager's team in one call; the
# gateway's repeatable ``owner_id`` has the same bound).
MAX_KEY_RESULT_OWNERS = 200


def list_owners(owner_ids: Iterable[str]) -> list[str]:
    """The distinct owners a key-result list asks for, in order (blank ones dropped); more
    than :data:`MAX_KEY_RESULT_OWNERS` is refused (``too_many_owners``)."""
    owners = list(dict.fromkeys(o.strip() for o in owner_ids if o.strip()))
    if len(owners) > MAX_KEY_RESULT_OWNERS:
        raise InvalidArgument(
            "too_many_owners", f"ask about at most {MAX_KEY_RESULT_OWNERS} owners at once"
        )
    return owners


# --- key results ----------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyResultSpec:
    """A key result's definition as asked for; :func:`key_result_spec` validates it."""

    title: str
    baseline: float
    target: float
    unit: str = ""
    kind: str = "number"
    direction: str = ""
    weight: int = 0
    confidence: int = 5
    data_source: str = "manual"
    milestones: tuple[str, ...] = ()
    plan: tuple[tuple[str, float], ...] = ()
    currency: str = ""
    lower_bound: float = 0.0
    upper_bound: float = 0.0


@dataclass(frozen=True)
class ValidKeyResult:
    title: str
    baseline: float
    target: float
    unit: str
    kind: str
    direction: str
    weight: int
    confidence: int
    data_source: str
    milestones: tuple[str, ...]
    plan: tuple[tuple[date, float], ...]
    currency: str
    lower_bound: float
    upper_bound: float


def check_weight(weight: int) -> int:
    if not 0 <= weight <= 100:
        raise InvalidArgument("invalid_weight", "a weight must be 0..100")
    return weight


def check_confidence(confidence: int) -> int:
    if not 0 <= confidence <= 10:
        raise InvalidArgument("invalid_confidence", "confidence must be 0..10")
    return confidence


def check_weights_total(weights: Iterable[int], objective: str = "") -> None:
    values = [check_weight(w) for w in weights]
    if sum(values) != 100:
        where = f" of objective {objective!r}" if objective else ""
        raise InvalidArgument(
            "weights_not_100",
            f"the key results' weights{where} total {sum(values)}, they must total 100",
        )


def check_distinct_milestones(milestones: Sequence[str]) -> None:
    """Each step once (compared case-insensitively): "done" twice says nothing."""
    seen: set[str] = set()
    for step in milestones:
        if step.casefold() in seen:
            raise InvalidArgument("duplicate_milestone", f"milestone {step!r} appears twice")
        seen.add(step.casefold())


def plan_points(
    points: Sequence[tuple[str, float]], cycle_start: date, cycle_end: date
) -> tuple[tuple[date, float], ...]:
    if len(points) > MAX_PLAN_POINTS:
        raise InvalidArgument("too_many_plan_points", f"at most {MAX_PLAN_POINTS} plan points")
    parsed: list[tuple[date, float]] = []
    for day_text, expected in points:
        day = parse_date(day_text, "plan_date")
        if not cycle_start <= day <= cycle_end:
            raise InvalidArgument("plan_outside_cycle", f"plan point {day} is outside the cycle")
        if not math.isfinite(expected) or not 0 <= expected <= 1:
            raise InvalidArgument("invalid_plan_progress", "plan progress must be 0..1")
        if parsed and day <= parsed[-1][0]:
            raise InvalidArgument("plan_not_ascending", "plan points must have ascending dates")
        parsed.append((day, expected))
    return tuple(parsed)


def key_result_spec(spec: KeyResultSpec, cycle_start: date, cycle_end: date) -> ValidKeyResult:
    """Validate a key result; fills what the kind implies (boolean 0 -> 1, milestone 0 -> n)."""
    if spec.kind not in KINDS:
        raise InvalidArgument("invalid_kind", "unknown key result kind")
    if spec.data_source not in DATA_SOURCES:
        raise InvalidArgument("invalid_data_source", "unknown data source")
    title = clean_text(spec.title, "title", MAX_TITLE)
    unit = clean_text(spec.unit, "unit", MAX_UNIT, required=False)
    milestones: tuple[str, ...] = ()
    currency = ""
    lower = upper = 0.0
    baseline, target = spec.baseline, spec.target
    direction = spec.direction
    if spec.kind == "boolean":
        baseline, target, direction = 0.0, 1.0, "increase"
    elif spec.kind == "milestone":
        if not spec.milestones:
            raise InvalidArgument("milestones_required", "a milestone key result needs steps")
        if len(spec.milestones) > MAX_MILESTONES:
            raise InvalidArgument("too_many_milestones", f"at most {MAX_MILESTONES} milestones")
        milestones = tuple(clean_text(m, "milestone", MAX_TITLE) for m in spec.milestones)
        check_distinct_milestones(milestones)
        baseline, target, direction = 0.0, float(len(milestones)), "increase"
    else:
        baseline = number(baseline, "baseline", spec.kind)
        target = number(target, "target", spec.kind)
        if not direction:
            direction = "decrease" if target < baseline else "increase"
        if direction not in DIRECTIONS:
            raise InvalidArgument("invalid_direction", "unknown direction")
        if spec.kind == "currency":
            currency = (spec.currency.strip() or "CNY").upper()
            if not CURRENCY.match(currency):
                raise InvalidArgument("invalid_currency", "currency must be an ISO 4217 code")
    if direction == "stay_within":
        lower, upper = (
            number(spec.lower_bound, "lower_bound", spec.kind),
            number(spec.upper_bound, "upper_bound", spec.kind),
        )
        if lower > upper:
            raise InvalidArgument("invalid_bounds", "lower_bound must not exceed upper_bound")
    else:
        if baseline == target:
            raise InvalidArgument("target_equals_baseline", "target must differ from baseline")
        if (direction == "increase") != (target > baseline):
            raise InvalidArgument(
                "target_direction_mismatch",
                f"for direction {direction} the target must be "
                f"{'above' if direction == 'increase' else 'below'} the baseline",
            )
    return ValidKeyResult(
        title=title,
        baseline=baseline,
        target=target,
        unit=unit,
        kind=spec.kind,
        direction=direction,
        weight=check_weight(spec.weight),
        confidence=check_confidence(spec.confidence),
        data_source=spec.data_source,
        milestones=milestones,
        plan=plan_points(spec.plan, cycle_start, cycle_end) if direction != "stay_within" else (),
        currency=currency,
        lower_bound=lower,
        upper_bound=upper,
    )


def spec_with(spec: KeyResultSpec, **changes: object) -> KeyResultSpec:
    return replace(spec, **changes)  # type: ignore[arg-type]
