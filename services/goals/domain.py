"""Pure goals rules: validation of cycles, objectives, key results, check-ins, plans,
revisions and approvals (no I/O)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import grpc

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument
from services.goals.calendar import parse_date, parse_week, zone
from workflows.vocabulary import (
    CHECKLIST_ITEM_ID_PATTERN,
    CURRENCY_CODE,
    DATA_SOURCES,
    DIRECTIONS,
    KINDS,
    MAX_BLOCKER_TEXT,
    MAX_BLOCKERS,
    MAX_BULK_CHECK_INS,
    MAX_CHECKLIST_ITEMS,
    MAX_CYCLE_DAYS,
    MAX_LABEL,
    MAX_MILESTONES,
    MAX_NAME,
    MAX_NOTE,
    MAX_PLAN_POINTS,
    MAX_TITLE,
    MAX_UNIT,
    ObjectiveStatus,
    Phase,
    deadlines,
    week_of,
)

CHECKLIST_ITEM_ID = re.compile(CHECKLIST_ITEM_ID_PATTERN)
CURRENCY = re.compile(f"^{CURRENCY_CODE}$")


def permission_denied(code: str, message: str) -> DomainError:
    return DomainError(code, message, status=grpc.StatusCode.PERMISSION_DENIED)


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
    if last <= first:
        raise InvalidArgument("invalid_cycle_dates", "end_date must be after start_date")
    if (last - first).days > MAX_CYCLE_DAYS:
        raise InvalidArgument("cycle_too_long", f"a cycle spans at most {MAX_CYCLE_DAYS} days")
    planning, approval, closing = deadlines(
        first,
        last,
        _optional_date(planning_deadline, "planning_deadline"),
        _optional_date(approval_deadline, "approval_deadline"),
        _optional_date(closing_deadline, "closing_deadline"),
    )
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


# --- objectives -----------------------------------------------------------------------------
def ensure_draft(status: str) -> None:
    if status != ObjectiveStatus.DRAFT:
        raise FailedPrecondition(
            "objective_not_draft",
            "only draft objectives change directly; approved ones change through a revision",
        )


def check_deletable(status: str, aligned_children: int) -> None:
    """Only a draft objective can be deleted (others have been approved or are awaiting it),
    and not while objectives are aligned to it (they would point at nothing)."""
    if status != ObjectiveStatus.DRAFT:
        raise FailedPrecondition("objective_not_draft", "only draft objectives can be deleted")
    if aligned_children:
        raise FailedPrecondition(
            "objective_has_aligned_objectives",
            f"{aligned_children} objective(s) are aligned to this one; align them elsewhere first",
        )


def ensure_not_closed(status: str) -> None:
    if status == ObjectiveStatus.CLOSED:
        raise FailedPrecondition("objective_closed", "the objective is closed")


def objective_dates(start: str, end: str, cycle_start: date, cycle_end: date) -> tuple[date, date]:
    first = parse_date(start.strip(), "start_date") if start.strip() else cycle_start
    last = parse_date(end.strip(), "end_date") if end.strip() else cycle_end
    if last < first:
        raise InvalidArgument("invalid_objective_dates", "end_date must not be before start_date")
    if first < cycle_start or last > cycle_end:
        raise InvalidArgument(
            "objective_dates_outside_cycle", "an objective's dates must lie within its cycle"
        )
    return first, last


def check_parent(objective_id: str, parent_id: str, ancestors_of_parent: Sequence[str]) -> None:
    """``ancestors_of_parent``: the parent and its ancestors, nearest first."""
    if parent_id == objective_id or objective_id in ancestors_of_parent:
        raise InvalidArgument(
            "alignment_cycle", "an objective cannot align to itself or to one of its children"
        )


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
        baseline, target, direction = 0.0, float(len(milestones)), "increase"
    else:
        baseline, target = number(baseline, "baseline"), number(target, "target")
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
            number(spec.lower_bound, "lower_bound"),
            number(spec.upper_bound, "upper_bound"),
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


# --- check-ins ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewCheckIn:
    week: str
    value: float
    confidence: int
    note: str
    blockers: tuple[tuple[str, str], ...] = ()
    answers: tuple[tuple[str, bool], ...] = ()


def check_value(kind: str, milestone_count: int, value: float) -> float:
    checked = number(value, "value")
    if kind == "boolean" and checked not in (0, 1):
        raise InvalidArgument("invalid_boolean_value", "a done/not done value is 0 or 1")
    if kind == "milestone" and (checked != int(checked) or checked > milestone_count):
        raise InvalidArgument(
            "milestone_out_of_range",
            f"the value is the number of milestones reached, 0..{milestone_count}",
        )
    return checked


def clean_blockers(blockers: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    if len(blockers) > MAX_BLOCKERS:
        raise InvalidArgument("too_many_blockers", f"at most {MAX_BLOCKERS} blockers")
    return tuple(
        (clean_text(text, "blocker_text", MAX_BLOCKER_TEXT), department.strip())
        for text, department in blockers
    )


def clean_answers(
    answers: Sequence[tuple[str, bool]], checklist: Iterable[str]
) -> tuple[tuple[str, bool], ...]:
    items = set(checklist)
    seen: set[str] = set()
    for item_id, _checked in answers:
        if item_id not in items:
            raise InvalidArgument(
                "unknown_checklist_item",
                f"{item_id!r} is not an item of the department's checklist",
            )
        if item_id in seen:
            raise InvalidArgument("duplicate_checklist_item", f"{item_id!r} is answered twice")
        seen.add(item_id)
    return tuple((i, bool(c)) for i, c in answers)


def new_check_in(
    value: float,
    confidence: int,
    note: str,
    week: str,
    *,
    today: date,
    cycle_start: date,
    cycle_end: date,
    kind: str = "number",
    milestone_count: int = 0,
    blockers: Sequence[tuple[str, str]] = (),
    answers: Sequence[tuple[str, bool]] = (),
    checklist: Iterable[str] = (),
) -> NewCheckIn:
    """Validate a check-in; ``week`` defaults to the week of ``today`` (cycle's zone)."""
    checked = check_value(kind, milestone_count, value)
    check_confidence(confidence)
    week = week.strip() or week_of(today)
    monday, sunday = parse_week(week)
    if monday > today:
        raise InvalidArgument("week_in_future", f"{week} has not started yet")
    if sunday < cycle_start or monday > cycle_end:
        raise InvalidArgument("week_outside_cycle", f"{week} is not part of the cycle")
    return NewCheckIn(
        week,
        checked,
        confidence,
        clean_text(note, "note", MAX_NOTE, required=False),
        clean_blockers(blockers),
        clean_answers(answers, checklist),
    )


def check_bulk(owner_id: str, key_result_ids: Sequence[str]) -> None:
    if not owner_id.strip():
        raise InvalidArgument("owner_required", "owner_id must be given")
    if not key_result_ids:
        raise InvalidArgument("check_ins_required", "at least one check-in must be given")
    if len(key_result_ids) > MAX_BULK_CHECK_INS:
        raise InvalidArgument(
            "too_many_check_ins", f"at most {MAX_BULK_CHECK_INS} check-ins at once"
        )
    seen: set[str] = set()
    for kr_id in key_result_ids:
        if kr_id in seen:
            raise InvalidArgument(
                "duplicate_key_result", f"key result {kr_id} appears twice in one request"
            )
        seen.add(kr_id)


def check_owner(owner_id: str, kr_owner_id: str, kr_id: str) -> None:
    if owner_id != kr_owner_id:
        raise permission_denied("not_owner", f"key result {kr_id} is not owned by {owner_id}")


@dataclass(frozen=True)
class CheckInActor:
    """Who a check-in is submitted as: a person acting as ``employee_id`` (themselves, or the
    person an admin names in a bulk check-in), or someone who may check in on any key result
    (``any_owner``: an admin, an API key with goals:write)."""

    employee_id: str
    any_owner: bool = False


def check_may_check_in(actor: CheckInActor | None, kr_owner_id: str, kr_id: str) -> None:
    """The owner/delegate rule of check-ins, single and bulk alike: the key result must be the
    actor's unless they may act on anyone's. ``None``: an internal caller (no rule).

    Refused with PERMISSION_DENIED ``not_owner``; the gateway answers 404 to whoever may not
    read the key result (no existence leak) and 403 to whoever may."""
    if actor is None or actor.any_owner:
        return
    check_owner(actor.employee_id, kr_owner_id, kr_id)


def checklist_items(items: Sequence[tuple[str, str, str]]) -> list[dict[str, str]]:
    if len(items) > MAX_CHECKLIST_ITEMS:
        raise InvalidArgument(
            "too_many_checklist_items", f"at most {MAX_CHECKLIST_ITEMS} checklist items"
        )
    seen: set[str] = set()
    cleaned = []
    for item_id, label_zh, label_en in items:
        item = item_id.strip()
        if not CHECKLIST_ITEM_ID.match(item):
            raise InvalidArgument(
                "invalid_checklist_item_id",
                "an item id is 1-64 lowercase letters, digits, '-' or '_'",
            )
        if item in seen:
            raise InvalidArgument("duplicate_checklist_item", f"{item!r} appears twice")
        seen.add(item)
        cleaned.append(
            {
                "id": item,
                "label_zh": clean_text(label_zh, "label_zh", MAX_LABEL),
                "label_en": clean_text(label_en, "label_en", MAX_LABEL),
            }
        )
    return cleaned


# --- plans, revisions, approvals ------------------------------------------------------------
@dataclass(frozen=True)
class PlanObjective:
    id: str
    title: str
    owner_id: str
    cycle_id: str
    status: str
    weights: tuple[int, ...]


def check_plan(
    employee_id: str, cycle_id: str, objectives: Sequence[PlanObjective], *, pending: bool
) -> None:
    """What SubmitPlan checks before anything is written."""
    if pending:
        raise FailedPrecondition(
            "approval_pending", "a plan of this person for this cycle is already awaiting approval"
        )
    if not objectives:
        raise FailedPrecondition("nothing_to_submit", "there are no draft objectives to submit")
    for o in objectives:
        if o.cycle_id != cycle_id:
            raise InvalidArgument("objective_not_in_cycle", f"objective {o.id} is in another cycle")
        if o.owner_id != employee_id:
            raise permission_denied("not_owner", f"objective {o.id} is owned by someone else")
        ensure_draft(o.status)
        if not o.weights:
            raise FailedPrecondition("no_key_results", f"objective {o.title!r} has no key results")
        check_weights_total(o.weights, o.title)


def new_revision(
    objective_status: str,
    kind: str,
    direction: str,
    baseline: float,
    old_target: float,
    new_target: float,
    reason: str,
    *,
    pending: bool,
) -> str:
    """Validate a target revision; returns the cleaned reason."""
    if objective_status != ObjectiveStatus.APPROVED:
        raise FailedPrecondition(
            "objective_not_approved", "only approved objectives' key results are revised"
        )
    if kind in ("boolean", "milestone") or direction == "stay_within":
        raise FailedPrecondition(
            "revision_not_supported", "this kind of key result has no target to revise"
        )
    if pending:
        raise FailedPrecondition(
            "revision_pending", "a revision of this key result is already awaiting approval"
        )
    number(new_target, "new_target")
    if new_target == old_target:
        raise InvalidArgument("target_unchanged", "the new target equals the current one")
    if new_target == baseline:
        raise InvalidArgument("target_equals_baseline", "target must differ from baseline")
    if (direction == "increase") != (new_target > baseline):
        raise InvalidArgument(
            "target_direction_mismatch", f"the new target does not fit direction {direction}"
        )
    return clean_text(reason, "reason", MAX_NOTE)


@dataclass(frozen=True)
class ApprovalState:
    status: str  # pending | approved | rejected
    approver_ids: tuple[str, ...]
    decided_by: str


def decision_applies(
    state: ApprovalState, decision: str, decided_by: str, *, override: bool
) -> bool:
    """True when the decision must be applied; False when it repeats the one already made."""
    if decision not in ("approve", "reject"):
        raise InvalidArgument("invalid_decision", "decision must be approve or reject")
    if not decided_by.strip():
        raise InvalidArgument("decided_by_required", "decided_by must be given")
    if state.status != "pending":
        wanted = "approved" if decision == "approve" else "rejected"
        if state.status == wanted and state.decided_by == decided_by:
            return False
        raise FailedPrecondition("approval_not_pending", "the approval has already been decided")
    if not override and decided_by not in state.approver_ids:
        raise permission_denied("not_approver", "only the approvers (or HR) may decide")
    return True


def merged_approvers(current: Sequence[str], added: Sequence[str]) -> list[str]:
    result = list(current)
    for employee in added:
        employee = employee.strip()
        if not employee:
            raise InvalidArgument("approver_required", "approver ids must not be empty")
        if employee not in result:
            result.append(employee)
    return result


# --- copying --------------------------------------------------------------------------------
def rescale_plan(
    points: Sequence[tuple[date, float]],
    source: tuple[date, date],
    target: tuple[date, date],
) -> tuple[tuple[date, float], ...]:
    """A plan curve moved into another cycle: each point keeps its relative position (a point
    on the source cycle's last day lands on the target's last day). Points that would share a
    day after rounding (a much shorter cycle) keep the first."""
    source_days = max((source[1] - source[0]).days, 1)
    target_days = (target[1] - target[0]).days
    moved: list[tuple[date, float]] = []
    for day, expected in points:
        share = min(max((day - source[0]).days / source_days, 0.0), 1.0)
        new_day = target[0] + timedelta(days=round(share * target_days))
        if not moved or new_day > moved[-1][0]:
            moved.append((new_day, expected))
    return tuple(moved)


def remap_parents(
    parents: Mapping[str, str | None], new_ids: Mapping[str, str], source_cycle_ids: set[str]
) -> dict[str, str | None]:
    """Parent of each copy: the copy of its parent when copied too; links to other objectives of
    the source cycle are dropped; links to objectives outside it (e.g. a yearly company
    objective) are kept."""
    result: dict[str, str | None] = {}
    for old, parent in parents.items():
        if not parent:
            result[new_ids[old]] = None
        elif parent in new_ids:
            result[new_ids[old]] = new_ids[parent]
        elif parent in source_cycle_ids:
            result[new_ids[old]] = None
        else:
            result[new_ids[old]] = parent
    return result
