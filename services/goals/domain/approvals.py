"""Plans, target revisions and approvals; copying goals into a new cycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.common.errors import FailedPrecondition, InvalidArgument
from services.goals.domain.common import clean_text, number, permission_denied
from services.goals.domain.key_results import check_weights_total
from services.goals.domain.objectives import ensure_draft
from workflows.vocabulary import (
    MAX_NOTE,
    ObjectiveStatus,
)


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
    number(new_target, "new_target", kind)
    if new_target == old_target:
        raise InvalidArgument("target_unchanged", "the new target equals the current one")
    if new_target == baseline:
        raise InvalidArgument("target_equals_baseline", "target must differ from baseline")
    if (direction == "increase") != (new_target > baseline):
        raise InvalidArgument(
            "target_direction_mismatch", f"the new target does not fit direction {direction}"
        )
    return clean_text(reason, "reason", MAX_NOTE, multiline=True)


@dataclass(frozen=True)
class ApprovalState:
    status: str  # pending | approved | rejected
    approver_ids: tuple[str, ...]
    decided_by: str
    # Whose plan or revision it is: they never decide on it (four eyes).
    subject: str = ""


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
    if state.subject and decided_by == state.subject:
        raise permission_denied(
            "own_approval", "nobody decides on their own plan or revision, not even as HR"
        )
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
