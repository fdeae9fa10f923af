"""The pilot scope rule (services/common/pilot.py): a department is in the pilot only when
it and every department above it have Stride enabled."""

from __future__ import annotations

from gateway.web.hr import pilot_rows
from services.common.pilot import PilotDepartment, enabled_departments, person_in_pilot


def test_every_department_on_by_default() -> None:
    tree = [PilotDepartment("plant"), PilotDepartment("assembly", "plant")]
    assert enabled_departments(tree) == {"plant", "assembly"}


def test_a_department_switched_off_takes_everything_below_with_it() -> None:
    tree = [
        PilotDepartment("plant", "", False),
        PilotDepartment("assembly", "plant", True),
        PilotDepartment("line-1", "assembly", True),
        PilotDepartment("office"),
    ]
    assert enabled_departments(tree) == {"office"}


def test_a_department_off_under_an_enabled_parent_is_off_alone() -> None:
    tree = [
        PilotDepartment("plant"),
        PilotDepartment("assembly", "plant", False),
        PilotDepartment("line-1", "assembly"),
        PilotDepartment("quality", "plant"),
    ]
    assert enabled_departments(tree) == {"plant", "quality"}


def test_order_of_the_list_does_not_matter() -> None:
    tree = [
        PilotDepartment("line-1", "assembly"),
        PilotDepartment("assembly", "plant"),
        PilotDepartment("plant", "", False),
    ]
    assert enabled_departments(tree) == frozenset()
    assert enabled_departments(reversed(tree)) == frozenset()


def test_an_unknown_parent_counts_as_the_top() -> None:
    assert enabled_departments([PilotDepartment("orphan", "gone")]) == {"orphan"}


def test_a_loop_counts_as_off_and_ends() -> None:
    tree = [PilotDepartment("a", "b"), PilotDepartment("b", "a"), PilotDepartment("c", "a")]
    assert enabled_departments(tree) == frozenset()


def test_people() -> None:
    enabled = frozenset({"office"})
    assert person_in_pilot("office", enabled)
    assert not person_in_pilot("plant", enabled)
    # Nobody switched off a person without a department; a deleted department is off.
    assert person_in_pilot("", enabled)
    assert not person_in_pilot("gone", enabled)


def test_hr_console_rows_follow_the_tree_and_say_why_a_department_is_out() -> None:
    departments = {
        "p": {"id": "p", "name": "Plant", "parent_id": "", "stride_enabled": False},
        "a": {"id": "a", "name": "Assembly", "parent_id": "p", "stride_enabled": True},
        "o": {"id": "o", "name": "Office", "parent_id": "", "stride_enabled": True},
    }
    rows = pilot_rows(departments)
    assert [(r["name"], r["depth"], r["in_pilot"]) for r in rows] == [
        ("Office", 0, True),
        ("Plant", 0, False),
        ("Assembly", 1, False),
    ]
