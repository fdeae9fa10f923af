"""gateway/inspection.py: a line's daily inspection as a telemetry value."""

from __future__ import annotations

import pytest

from gateway.inspection import InspectionRefused, inspection, sample_id
from gateway.web.inspection import checked_items

ITEMS = ("guards", "records", "oil")


def test_the_value_is_the_share_of_the_items_ticked() -> None:
    found = inspection(ITEMS, ["oil", "guards"])
    assert found.value == pytest.approx(2 / 3) and not found.complete
    assert found.checked == ("guards", "oil")  # the checklist's order
    complete = inspection(ITEMS, ["records", "oil", "guards"])
    assert complete.value == 1 and complete.complete
    assert inspection(ITEMS, []).value == 0


@pytest.mark.parametrize(
    ("items", "checked", "status", "code"),
    [
        ((), [], 409, "no_checklist"),
        (ITEMS, ["nope"], 422, "unknown_checklist_item"),
        (ITEMS, ["oil", "oil"], 422, "duplicate_checklist_item"),
    ],
)
def test_refused(items: tuple[str, ...], checked: list[str], status: int, code: str) -> None:
    with pytest.raises(InspectionRefused) as refused:
        inspection(items, checked)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_one_submission_is_one_sample() -> None:
    assert sample_id("abc") == sample_id("abc") == "inspection-abc"


def test_the_form_sends_the_ticked_items_only() -> None:
    form = {"csrf": "x", "department": "d", "item-guards": "1", "item-oil": "1"}
    assert checked_items(form) == ["guards", "oil"]
