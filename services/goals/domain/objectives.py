"""Objective rules: status, deletion, dates within the cycle, alignment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.common.errors import FailedPrecondition, InvalidArgument
from services.goals.calendar import parse_date
from workflows.vocabulary import (
    ObjectiveStatus,
)


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
