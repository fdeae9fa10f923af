"""Check-in rules: values by kind, blockers, checklist answers, who may check in."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from services.common.errors import InvalidArgument
from services.goals.calendar import parse_week
from services.goals.domain.common import CHECKLIST_ITEM_ID, clean_text, number, permission_denied
from services.goals.domain.key_results import check_confidence
from workflows.vocabulary import (
    MAX_BLOCKER_TEXT,
    MAX_BLOCKERS,
    MAX_BULK_CHECK_INS,
    MAX_CHECKLIST_ITEMS,
    MAX_LABEL,
    MAX_NOTE,
    week_of,
)


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
    checked = number(value, "value", kind)
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
        (clean_text(text, "blocker_text", MAX_BLOCKER_TEXT, multiline=True), department.strip())
        for text, department in blockers
    )


def blocker_id(check_in_id: str, department_id: str, text: str) -> str:
    """The id of a check-in blocker addressed to ``department_id``: derived from the check-in,
    the department and the text, so re-submitting the same week with the same blocker finds
    the row it made (and its department's inbox item) instead of raising it twice."""
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"stride:blocker:{check_in_id}/{department_id}/{text}")
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
        clean_text(note, "note", MAX_NOTE, required=False, multiline=True),
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
