"""Pure goals rules (no I/O), one module per aggregate: ``cycles``, ``objectives``,
``key_results``, ``check_ins``, ``approvals`` (plans, revisions, approvals, copying), plus
``common`` (text and number checks). Handlers call them as ``domain.<rule>``; the names are
gathered here so that the package is the one interface of the rules.
"""

from __future__ import annotations

from services.goals.domain.approvals import (
    ApprovalState,
    PlanObjective,
    check_plan,
    decision_applies,
    merged_approvers,
    new_revision,
    remap_parents,
    rescale_plan,
)
from services.goals.domain.check_in_import import (
    ImportRow,
    KeyResultRef,
    RowError,
    read_rows,
    resolve_rows,
)
from services.goals.domain.check_ins import (
    CheckInActor,
    NewCheckIn,
    check_bulk,
    check_may_check_in,
    check_owner,
    check_value,
    checklist_items,
    clean_answers,
    clean_blockers,
    new_check_in,
)
from services.goals.domain.common import (
    CHECKLIST_ITEM_ID,
    CURRENCY,
    clean_text,
    number,
    permission_denied,
)
from services.goals.domain.cycles import (
    NewCycle,
    check_self_score,
    closes_with_cycle,
    ensure_open,
    in_scores,
    is_backfill,
    new_cycle,
    phase_change,
)
from services.goals.domain.key_results import (
    KeyResultSpec,
    ValidKeyResult,
    check_confidence,
    check_weight,
    check_weights_total,
    key_result_spec,
    plan_points,
    spec_with,
)
from services.goals.domain.objectives import (
    check_deletable,
    check_parent,
    ensure_draft,
    ensure_not_closed,
    objective_dates,
)

__all__ = [
    "CHECKLIST_ITEM_ID",
    "CURRENCY",
    "ApprovalState",
    "CheckInActor",
    "ImportRow",
    "KeyResultRef",
    "KeyResultSpec",
    "NewCheckIn",
    "NewCycle",
    "PlanObjective",
    "RowError",
    "ValidKeyResult",
    "check_bulk",
    "check_confidence",
    "check_deletable",
    "check_may_check_in",
    "check_owner",
    "check_parent",
    "check_plan",
    "check_self_score",
    "check_value",
    "check_weight",
    "check_weights_total",
    "checklist_items",
    "clean_answers",
    "clean_blockers",
    "clean_text",
    "closes_with_cycle",
    "decision_applies",
    "ensure_draft",
    "ensure_not_closed",
    "ensure_open",
    "in_scores",
    "is_backfill",
    "key_result_spec",
    "merged_approvers",
    "new_check_in",
    "new_cycle",
    "new_revision",
    "number",
    "objective_dates",
    "permission_denied",
    "phase_change",
    "plan_points",
    "read_rows",
    "remap_parents",
    "rescale_plan",
    "resolve_rows",
    "spec_with",
]
