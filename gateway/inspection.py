"""A line's daily inspection: pure rules, no I/O (docs/web.md, docs/telemetry.md).

The inspection template is the department's checklist (the one the weekly check-in answers):
the items a line checks are the same items whether they are ticked daily on the shop floor or
confirmed weekly with the check-in, and one list kept by the department's heads cannot drift
from a second one. A submission names the items ticked (a checkbox form sends only those);
every other item counts as not ticked.

The submission becomes one telemetry sample of ``INSPECTION_METRIC``: its value is the share of
the items ticked (0..1, so 1 is a complete inspection record) rather than a bare complete /
incomplete flag, because the share keeps both: ``avg`` over a day or week is the share of the
items done, ``min`` over a day is 1 only when every inspection that day was complete, and
``count`` counts inspections. Its source is the department's id (a line's samples stay apart,
and a binding can name the line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class InspectionRefused(Exception):
    """A submission that cannot be recorded: the gateway's problem (status, code, detail)."""

    status: int
    code: str
    detail: str


@dataclass(frozen=True)
class Inspection:
    items: int  # the checklist's items
    checked: tuple[str, ...]  # the ticked ones, in the checklist's order

    @property
    def value(self) -> float:
        """The sample's value: the share of the items ticked."""
        return len(self.checked) / self.items

    @property
    def complete(self) -> bool:
        return len(self.checked) == self.items


def inspection(items: Sequence[str], checked: Sequence[str]) -> Inspection:
    """The inspection of a checklist of ``items`` (ids, in order) with ``checked`` ticked.

    Refused: a department without a checklist (409 ``no_checklist``: there is nothing to
    inspect, and a sample of 0 of 0 items would be a made-up number), an item not on the
    checklist (422 ``unknown_checklist_item``: the checklist changed under the form; reload),
    an item ticked twice (422 ``duplicate_checklist_item``)."""
    if not items:
        raise InspectionRefused(
            409, "no_checklist", "This line has no checklist to inspect yet (its head sets it)."
        )
    known = set(items)
    seen: set[str] = set()
    for item in checked:
        if item not in known:
            raise InspectionRefused(
                422,
                "unknown_checklist_item",
                f"{item!r} is not an item of the line's checklist (it changed: reload the form)",
            )
        if item in seen:
            raise InspectionRefused(422, "duplicate_checklist_item", f"{item!r} is ticked twice")
        seen.add(item)
    return Inspection(items=len(items), checked=tuple(i for i in items if i in seen))


def sample_id(submission_id: str) -> str:
    """The sample's id: one submission (a form shown once, however often it is sent) is one
    sample; the telemetry service drops a repeat (same source and sample id)."""
    return f"inspection-{submission_id}"
