"""The pure org-sync planner: validation row by row, the diff, ordering and invariants."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest

from services.identity.domain import login_key
from services.identity.sync.data import (
    DEPARTMENT_CREATE,
    DEPARTMENT_UPDATE,
    EMPLOYEE_CREATE,
    EMPLOYEE_DEACTIVATE,
    EMPLOYEE_UPDATE,
    CurrentOrg,
    Operation,
    OrgDepartment,
    OrgEmployee,
    Plan,
    Snapshot,
    SourceDepartment,
    SourcePerson,
)
from services.identity.sync.plan import (
    loops,
    mass_deactivation,
    order_parents_first,
    plan_sync,
)

_PLANS = itertools.count(1)


def planner_ids():
    """Readable ids that never repeat across the plans of a test."""
    plan_no = next(_PLANS)
    counter = itertools.count(1)
    return lambda: f"p{plan_no}-{next(counter)}"


def dept(key: str, name: str | None = None, parent: str = "", row: int = 0) -> SourceDepartment:
    return SourceDepartment(
        key=key, name=name or key.rsplit("/", 1)[-1], parent_key=parent, row=row
    )


def person(number: str, manager: str = "", dept_key: str = "plant", **kw: object) -> SourcePerson:
    values: dict[str, object] = {
        "row": kw.pop("row", 0),
        "employee_number": number,
        "name": f"Person {number}",
        "department_key": dept_key,
        "manager_employee_number": manager,
        "email": f"{number.lower()}@example.com",
        "title": "Operator",
    }
    values.update(kw)
    return SourcePerson(**values)  # type: ignore[arg-type]


def snapshot(people: list[SourcePerson], depts: list[SourceDepartment] | None = None) -> Snapshot:
    return Snapshot(
        departments=tuple(depts if depts is not None else [dept("plant", "Plant")]),
        people=tuple(people),
    )


# --- a pure model of applying a plan, checking every intermediate state ------------------
def apply(org: CurrentOrg, plan: Plan) -> CurrentOrg:
    """Apply the operations in order like the servicer does, asserting what the database
    would enforce (foreign keys, unique numbers, source ids and names) and that the
    management chain never loops, after every single operation."""
    depts = {d.id: d for d in org.departments}
    emps = {e.id: e for e in org.employees}
    for op in plan.operations:
        v = op.values
        if op.kind == DEPARTMENT_CREATE:
            assert op.id not in depts
            assert v["parent_id"] is None or v["parent_id"] in depts
            depts[op.id] = OrgDepartment(op.id, str(v["name"]), v["parent_id"], v["external_id"])
        elif op.kind == DEPARTMENT_UPDATE:
            d = depts[op.id]
            depts[op.id] = replace(
                d,
                name=str(v.get("name", d.name)),
                parent_id=v.get("parent_id", d.parent_id),
                external_id=v.get("external_id", d.external_id),
            )
        elif op.kind == EMPLOYEE_CREATE:
            assert op.id not in emps
            assert v["department_id"] in depts
            assert v["manager_id"] is None or emps[v["manager_id"]].active
            emps[op.id] = OrgEmployee(
                id=op.id,
                employee_number=str(v["employee_number"]),
                name=str(v["name"]),
                department_id=str(v["department_id"]),
                manager_id=v["manager_id"],
                active=v["status"] == "active",
                email=v.get("email"),
                mobile=v.get("mobile"),
                title=v.get("title"),
                grade=v.get("grade"),
                hire_date=v.get("hire_date"),
                external_id=v.get("external_id"),
            )
        elif op.kind in (EMPLOYEE_UPDATE, EMPLOYEE_DEACTIVATE):
            e = emps[op.id]
            changes = dict(v)
            if "status" in changes:
                changes["active"] = changes.pop("status") == "active"  # type: ignore[assignment]
            if changes.get("department_id") is not None:
                assert changes["department_id"] in depts
            if changes.get("manager_id") is not None:
                assert changes["manager_id"] in emps
            emps[op.id] = replace(e, **changes)  # type: ignore[arg-type]
        else:  # pragma: no cover
            raise AssertionError(op.kind)
        numbers = [login_key(e.employee_number) for e in emps.values()]
        assert len(numbers) == len(set(numbers)), "numbers must stay unique (without case)"
        emails = [login_key(e.email) for e in emps.values() if e.active and e.email]
        assert len(emails) == len(set(emails)), "e-mails of active people must stay unique"
        externals = [e.external_id for e in emps.values() if e.external_id]
        assert len(externals) == len(set(externals)), "source ids must stay unique"
        dept_ext = [d.external_id for d in depts.values() if d.external_id]
        assert len(dept_ext) == len(set(dept_ext))
        names = [(d.parent_id, d.name) for d in depts.values()]
        assert len(names) == len(set(names)), "department names must stay unique per parent"
        _, on_loop = order_parents_first(emps, lambda i: emps[i].manager_id)
        assert not on_loop, f"management loop after {op}"
        _, dept_loop = order_parents_first(depts, lambda i: depts[i].parent_id)
        assert not dept_loop, f"department loop after {op}"
    return CurrentOrg(tuple(depts.values()), tuple(emps.values()))


def by_number(org: CurrentOrg) -> dict[str, OrgEmployee]:
    return {e.employee_number: e for e in org.employees}


def rows(plan: Plan, action: str) -> dict[str, str]:
    return {r.key: r.reason_code for r in plan.rows if r.action == action and r.kind == "person"}


def imported(people: list[SourcePerson], depts: list[SourceDepartment] | None = None):
    snap = snapshot(people, depts)
    org = apply(CurrentOrg(), plan_sync(snap, CurrentOrg(), new_id=planner_ids()))
    return snap, org


# --- tests ------------------------------------------------------------------------------
def test_first_import_creates_departments_parents_first_and_managers_first() -> None:
    depts = [
        dept("Acme/Plant/Quality", parent="Acme/Plant", row=1),
        dept("Acme", row=2),
        dept("Acme/Plant", parent="Acme", row=3),
    ]
    people = [
        person("E4", "E3", "Acme/Plant/Quality", row=1),
        person("E3", "E2", "Acme/Plant", row=2),
        person("E2", "E1", "Acme", row=3),
        person("E1", "", "Acme", row=4),
    ]
    plan = plan_sync(snapshot(people, depts), CurrentOrg(), new_id=planner_ids())
    assert plan.counts.created == 4 and plan.counts.departments_created == 3
    assert plan.counts.rejected == plan.counts.departments_rejected == 0
    kinds = [op.kind for op in plan.operations]
    assert kinds == [DEPARTMENT_CREATE] * 3 + [EMPLOYEE_CREATE] * 4
    assert [op.key for op in plan.operations[:3]] == ["Acme", "Acme/Plant", "Acme/Plant/Quality"]
    assert [op.key for op in plan.operations[3:]] == ["E1", "E2", "E3", "E4"]
    org = apply(CurrentOrg(), plan)
    emps = by_number(org)
    assert emps["E4"].manager_id == emps["E3"].id and emps["E1"].manager_id is None
    assert emps["E4"].title == "Operator" and emps["E4"].email == "e4@example.com"


def test_same_snapshot_again_changes_nothing() -> None:
    snap, org = imported([person("A"), person("B", "A"), person("C", "B")])
    again = plan_sync(snap, org, new_id=planner_ids())
    assert again.operations == ()
    assert again.counts.unchanged == 3 and again.counts.departments_unchanged == 1
    assert [r for r in again.rows] == []


def test_updates_moves_deactivations_and_rehire() -> None:
    depts = [dept("plant", "Plant"), dept("quality", "Quality", parent="plant")]
    base = [person("A"), person("B", "A"), person("C", "B"), person("D", "B"), person("E", "A")]
    _, org = imported([*base, person("F", "A"), person("G", "A")], depts)
    # G left earlier (by hand in Stride); now the source lists G again: a rehire.
    org = replace(
        org,
        employees=tuple(replace(e, active=e.employee_number != "G") for e in org.employees),
    )
    changed = [
        person("A"),
        person("B", "A", title="Shift lead"),  # profile update
        person("C", "E"),  # E leaves: C is rejected and keeps reporting to B
        person("D", "B", dept_key="quality", title="Inspector"),  # department (+title): moved
        person("E", "A", active=False, row=9),  # left: deactivated
        person("G", "A"),  # rehired: updated (status)
        person("H", "B"),  # new hire
        person("X", "A", active=False),  # left before ever being here: nothing to do
    ]
    # F is missing from the source: deactivated.
    plan = plan_sync(snapshot(changed, depts), org, new_id=planner_ids())
    c = plan.counts
    assert rows(plan, "rejected") == {"C": "inactive_manager"}
    assert set(rows(plan, "created")) == {"H"}
    assert set(rows(plan, "updated")) == {"B", "G"}
    assert set(rows(plan, "moved")) == {"D"}
    assert set(rows(plan, "deactivated")) == {"E", "F"}
    assert (c.created, c.updated, c.moved, c.deactivated, c.unchanged, c.rejected) == (
        1,
        2,
        1,
        2,
        2,
        1,
    )  # unchanged: A and X
    moved = next(r for r in plan.rows if r.key == "D")
    assert set(moved.changed_fields) == {"department_id", "title"}
    rehire = next(r for r in plan.rows if r.key == "G")
    assert rehire.changed_fields == ("status",)
    f_row = next(r for r in plan.rows if r.key == "F")
    assert f_row.row == 0 and next(r for r in plan.rows if r.key == "E").row == 9
    after = by_number(apply(org, plan))
    assert not after["E"].active and not after["F"].active and after["G"].active
    assert after["D"].title == "Inspector" and after["C"].manager_id == after["B"].id  # kept


def test_manager_problems_are_rejected_row_by_row() -> None:
    _, org = imported([person("A"), person("B", "A")])
    plan = plan_sync(
        snapshot(
            [
                person("A"),
                person("B", "A"),
                person("C", "NOBODY", row=3),
                person("D", "D", row=4),
                person("E", "C", row=5),  # manager rejected and not in Stride
                person("F", "B", row=6, email="not-an-email"),
                person("G", "F", row=7),  # manager F rejected: cascades
                person("H", "G", row=8),  # ... two levels down
            ]
        ),
        org,
        new_id=planner_ids(),
    )
    assert rows(plan, "rejected") == {
        "C": "unknown_manager",
        "D": "manager_is_self",
        "E": "manager_rejected",
        "F": "invalid_email",
        "G": "manager_rejected",
        "H": "manager_rejected",
    }
    rejected = {r.key: r.row for r in plan.rows if r.action == "rejected"}
    assert rejected["C"] == 3 and rejected["H"] == 8
    assert plan.operations == ()  # nothing else to do, nothing half-applied


def test_rejected_manager_who_exists_keeps_their_reports() -> None:
    _, org = imported([person("A"), person("B", "A"), person("C", "B")])
    plan = plan_sync(
        snapshot(
            [
                person("A"),
                person("B", "A", email="broken"),  # rejected: B stays as it is in Stride
                person("C", "B", title="Inspector"),  # keeps B as manager
                person("N", "B"),  # new report of B: fine, B exists
            ]
        ),
        org,
        new_id=planner_ids(),
    )
    assert rows(plan, "rejected") == {"B": "invalid_email"}
    assert set(rows(plan, "updated")) == {"C"} and set(rows(plan, "created")) == {"N"}
    assert plan.counts.deactivated == 0  # a rejected row never means "left"
    after = by_number(apply(org, plan))
    assert after["N"].manager_id == after["B"].id and after["B"].active


def test_loops_in_the_management_chain() -> None:
    _, org = imported([person("A"), person("B", "A"), person("C", "B"), person("R", "C")])
    plan = plan_sync(
        snapshot(
            [
                person("A", "C"),  # A → C → B → A
                person("B", "A"),
                person("C", "B"),
                person("R", "C", title="Lead"),  # C exists: R keeps C
                person("N", "B"),  # B exists: fine
                person("X", "Y"),  # X ↔ Y, both new
                person("Y", "X"),
                person("Z", "X"),  # manager on a loop and new: rejected
            ]
        ),
        org,
        new_id=planner_ids(),
    )
    rejected = rows(plan, "rejected")
    assert rejected == {
        "A": "manager_cycle",
        "B": "manager_cycle",
        "C": "manager_cycle",
        "X": "manager_cycle",
        "Y": "manager_cycle",
        "Z": "manager_rejected",
    }
    reason = next(r.reason for r in plan.rows if r.key == "A")
    assert "A → C → B → A" in reason
    assert set(rows(plan, "updated")) == {"R"} and set(rows(plan, "created")) == {"N"}
    apply(org, plan)


def test_loop_through_a_rejected_person_that_stays_as_in_stride() -> None:
    # In Stride: X → Y (Y reports to X). The source moves X under M and M under Y, and Y's own
    # row is rejected, so Y keeps reporting to X: X → M → Y → X would loop.
    _, org = imported([person("X"), person("Y", "X"), person("M", "X")])
    plan = plan_sync(
        snapshot([person("X", "M"), person("M", "Y"), person("Y", "", email="bad")]),
        org,
        new_id=planner_ids(),
    )
    assert rows(plan, "rejected") == {
        "Y": "invalid_email",
        "X": "manager_cycle",
        "M": "manager_cycle",
    }
    apply(org, plan)


def test_duplicate_employee_numbers() -> None:
    _, org = imported([person("A"), person("B", "A")])
    plan = plan_sync(
        snapshot(
            [
                person("A"),
                person("B", "A", row=2, name="First B"),
                person("B", "A", row=3, name="Second B"),
                person("C", "B"),  # B exists and is active: C may report to B
                person("D", "D2"),
                person("D2", "A", row=5),
                person("D2", "A", row=6),  # D2 is new and duplicated: D is rejected
            ]
        ),
        org,
        new_id=planner_ids(),
    )
    rejected = rows(plan, "rejected")
    assert rejected == {
        "B": "duplicate_employee_number",
        "D2": "duplicate_employee_number",
        "D": "manager_rejected",
    }
    assert plan.counts.rejected == 5  # both B rows, both D2 rows and D
    assert plan.counts.deactivated == 0  # B is not missing: it is unclear
    after = by_number(apply(org, plan))
    assert after["C"].manager_id == after["B"].id


def test_numbers_match_without_case_and_emails_are_one_active_persons() -> None:
    _, org = imported([person("ADM-1", email="Admin@Example.com"), person("B", "ADM-1")])
    plan = plan_sync(
        snapshot(
            [
                person("adm-1", email="admin@example.com", row=1),  # Stride's ADM-1
                person("b", "Adm-1", name="Person B", row=2),  # B, under ADM-1 as before
                person("new-1", "ADM-1", row=3),
                person("NEW-1", "ADM-1", row=4),  # the same number as row 3
                person("C", "adm-1", email="Dup@example.com", row=5),
                person("D", "adm-1", email="dup@EXAMPLE.com", row=6),  # C's e-mail
                person("F", "adm-1", email="f@example.com", row=8),
            ]
        ),
        org,
        new_id=planner_ids(),
    )
    assert rows(plan, "rejected") == {
        "new-1": "duplicate_employee_number",
        "C": "duplicate_email",
        "D": "duplicate_email",
    }
    assert rows(plan, "created") == {"F": ""}
    # ADM-1 and B are matched: only the e-mail's case changed, nobody is deactivated.
    assert plan.counts.deactivated == 0 and plan.counts.created == 1
    assert rows(plan, "updated") == {"ADM-1": ""}
    after = by_number(apply(org, plan))
    assert after["ADM-1"].email == "admin@example.com" and after["ADM-1"].active
    assert after["F"].manager_id == after["ADM-1"].id
    assert "adm-1" not in after and "new-1" not in after and "NEW-1" not in after


def test_an_email_freed_by_a_leaver_may_be_taken_one_kept_may_not() -> None:
    _, org = imported([person("A", email="a@example.com"), person("B", "A")])
    plan = plan_sync(
        snapshot(
            [
                person("A", email="new-a@example.com"),  # A changes theirs ...
                person("B", "A", email="Ａ@example.com"),  # ... not applied yet: refused
                person("C", "A", email="b@example.com"),  # B keeps b@: refused
            ]
        ),
        org,
        new_id=planner_ids(),
    )
    assert rows(plan, "rejected") == {"B": "email_taken", "C": "email_taken"}
    # B leaves: their e-mail may go to the new C in the same sync.
    plan = plan_sync(
        snapshot([person("A"), person("C", "A", email="B@example.com")]),
        org,
        new_id=planner_ids(),
    )
    assert rows(plan, "rejected") == {} and plan.counts.deactivated == 1
    assert by_number(apply(org, plan))["C"].email == "B@example.com"


def test_departments_unknown_rejected_and_missing() -> None:
    plan = plan_sync(
        snapshot(
            [
                person("A", dept_key="plant"),
                person("B", "A", dept_key="nowhere"),
                person("C", "A", dept_key="dup"),
                person("D", "A", dept_key=""),
            ],
            [dept("plant", "Plant"), dept("dup", "One", row=2), dept("dup", "Two", row=3)],
        ),
        CurrentOrg(),
        new_id=planner_ids(),
    )
    assert rows(plan, "rejected") == {
        "B": "unknown_department",
        "C": "department_rejected",
        "D": "department_required",
    }
    assert plan.counts.departments_rejected == 2 and plan.counts.departments_created == 1


def test_department_matching_linking_renames_moves_and_loops() -> None:
    org = CurrentOrg(
        departments=(
            OrgDepartment("d-root", "Acme", None, None),
            OrgDepartment("d-plant", "Plant", "d-root", "old-plant"),
            OrgDepartment("d-qa", "QA", "d-plant", "qa"),
            OrgDepartment("d-sales", "Sales", "d-root", "sales"),
            OrgDepartment("d-east", "East", "d-sales", "east"),  # not in the source
        )
    )
    plan = plan_sync(
        Snapshot(
            departments=(
                dept("1", "Acme", row=1),  # matched by name, linked to key "1"
                dept("2", "Plant", parent="1", row=2),  # matched by name, relinked
                dept("qa", "Quality", parent="2", row=3),  # matched by key, renamed
                dept("new", "Logistics", parent="1", row=4),  # created
                dept("sales", "Sales", parent="east", row=5),  # would loop through East
                dept("loop-a", "A", parent="loop-b", row=6),
                dept("loop-b", "B", parent="loop-a", row=7),
                dept("orphan", "O", parent="missing", row=8),
                dept("child", "C", parent="loop-a", row=9),
                dept("dup-name", "Logistics", parent="1", row=10),
            ),
        ),
        org,
        new_id=planner_ids(),
    )
    got = {r.key: (r.action, r.reason_code) for r in plan.rows if r.kind == "department"}
    assert got == {
        "1": ("linked", ""),
        "2": ("linked", ""),
        "qa": ("updated", ""),
        "new": ("created", ""),
        "sales": ("rejected", "department_cycle"),
        "loop-a": ("rejected", "department_cycle"),
        "loop-b": ("rejected", "department_cycle"),
        "orphan": ("rejected", "unknown_parent_department"),
        "child": ("rejected", "parent_department_rejected"),
        "dup-name": ("rejected", "department_name_taken"),
    }
    c = plan.counts
    assert (c.departments_created, c.departments_updated, c.departments_linked) == (1, 1, 2)
    assert c.departments_rejected == 6 and c.departments_unchanged == 2
    after = {d.id: d for d in apply(org, plan).departments}
    assert after["d-root"].external_id == "1" and after["d-qa"].name == "Quality"
    assert after["d-sales"].parent_id == "d-root"  # the move was refused


def test_only_provided_fields_change_and_empty_provided_fields_clear() -> None:
    _, org = imported([person("A", grade="G7", mobile="13800000000")])
    partial = Snapshot(
        departments=(dept("plant", "Plant"),),
        people=(person("A", grade="", mobile="", title=""),),
        provided_fields=frozenset({"email", "title"}),
    )
    plan = plan_sync(partial, org, new_id=planner_ids())
    assert [op.values for op in plan.operations] == [{"title": None}]
    after = by_number(apply(org, plan))["A"]
    assert after.grade == "G7" and after.mobile == "13800000000" and after.title is None


def test_source_ids_link_release_and_conflict() -> None:
    _, org = imported([person("A"), person("B", "A"), person("C", "A", external_id="u-c")])
    plan = plan_sync(
        snapshot(
            [
                person("A", external_id="u-a"),  # linked only: unchanged + linked
                person("B", "A", external_id="u-c"),  # C's id, and C stays: rejected
                person("C", "A", external_id="u-c2"),
                person("D", "A", external_id="u-d", row=5),
                person("E", "A", external_id="u-d", row=6),
            ]
        ),
        org,
        new_id=planner_ids(),
    )
    assert rows(plan, "rejected") == {
        "B": "external_id_taken",
        "D": "duplicate_external_id",
        "E": "duplicate_external_id",
    }
    assert plan.counts.linked == 2  # A, C
    _, org2 = imported([person("A"), person("C", "A", external_id="u-c")])
    renumbered = plan_sync(
        snapshot([person("A", external_id="u-a"), person("C-NEW", "A", external_id="u-c")]),
        org2,
        new_id=planner_ids(),
    )
    # C's number changed in the source: C leaves (and releases u-c), C-NEW takes it over.
    assert set(rows(renumbered, "deactivated")) == {"C"}
    assert set(rows(renumbered, "created")) == {"C-NEW"}
    assert rows(renumbered, "linked") == {"A": ""}
    assert renumbered.counts.linked == 2 and renumbered.counts.unchanged == 1
    after = by_number(apply(org2, renumbered))
    assert after["C"].external_id is None and after["C-NEW"].external_id == "u-c"


def test_leaver_rows_only_need_a_valid_number() -> None:
    _, org = imported([person("A"), person("B", "A")])
    plan = plan_sync(
        snapshot([person("A"), person("B", "GONE", active=False, email="junk", name="")]),
        org,
        new_id=planner_ids(),
    )
    assert set(rows(plan, "deactivated")) == {"B"} and plan.counts.rejected == 0


def test_mass_deactivation_guard_is_a_share_of_the_active_people() -> None:
    _, org = imported([person("A")] + [person(f"P{i}", "A") for i in range(30)])
    empty = plan_sync(snapshot([], []), org, new_id=planner_ids())
    assert empty.counts.deactivated == 31 and mass_deactivation(empty, org)

    def leaving(n: int) -> Plan:
        staying = [person("A")] + [person(f"P{i}", "A") for i in range(30 - n)]
        return plan_sync(snapshot(staying), org, new_id=planner_ids())

    # 20 % of 31 by default: 6 is 19 %, 7 is 23 % (a count "more than 10" let 10 through).
    assert leaving(6).counts.deactivated == 6 and not mass_deactivation(leaving(6), org)
    assert mass_deactivation(leaving(7), org)
    assert not mass_deactivation(leaving(10), org, max_share=0.5)
    assert mass_deactivation(leaving(1), org, max_share=0.0)
    assert not mass_deactivation(plan_sync(snapshot([]), CurrentOrg()), CurrentOrg())


def test_admins_and_the_requester_are_never_deactivated() -> None:
    _, org = imported([person("A")] + [person(f"P{i}", "A") for i in range(4)])
    admin = replace(org.employees[0], roles=("admin",))
    hr = replace(org.employees[1], roles=("hr",))
    org = CurrentOrg(org.departments, (admin, hr, *org.employees[2:]))
    # The source lists neither the admin nor HR (who runs it); P3 left explicitly, and an
    # explicit leaver row for the admin is not followed either.
    source = [
        person("P1", "A", row=2),  # the admin stays their manager
        person("P2", "P1", row=3),
        person("P3", active=False, row=4),
        person("A", active=False, row=5),
    ]
    plan = plan_sync(snapshot(source), org, new_id=planner_ids(), requested_by=hr.id)
    assert rows(plan, "kept") == {"A": "admin_kept", "P0": "requester_kept"}
    assert rows(plan, "deactivated") == {"P3": ""}
    assert rows(plan, "rejected") == {}
    c = plan.counts
    assert (c.kept, c.deactivated, c.moved, c.unchanged) == (2, 1, 1, 3)  # P2 moved to P1
    names = {r.key: r.name for r in plan.rows if r.kind == "person"}
    assert names["A"] == admin.name and names["P3"] == "Person P3"
    assert {op.key for op in plan.operations} == {"P3", "P2"}
    after = apply(org, plan)
    assert {e.employee_number for e in after.employees if not e.active} == {"P3"}
    # Without a requester HR is deactivated like anybody missing from the source.
    plain = plan_sync(snapshot(source), org, new_id=planner_ids())
    assert rows(plain, "kept") == {"A": "admin_kept"} and "P0" in rows(plain, "deactivated")


def test_batches_and_operation_json_round_trip() -> None:
    plan = plan_sync(
        snapshot([person("A")] + [person(f"P{i}", "A") for i in range(9)]),
        CurrentOrg(),
        new_id=planner_ids(),
    )
    batches = plan.batches(4)
    assert [len(b) for b in batches] == [4, 4, 3]
    assert [op for b in batches for op in b] == list(plan.operations)
    for op in plan.operations:
        assert Operation.from_json(op.to_json()) == op
    with pytest.raises(ValueError):
        plan.batches(0)
    with pytest.raises(ValueError):
        Operation.from_json({"kind": "employee.delete", "id": "x", "key": "x", "values": {}})


def test_order_parents_first_and_loops() -> None:
    parents = {"a": None, "b": "a", "c": "b", "x": "y", "y": "x", "z": "x"}
    order, on_loop = order_parents_first(["c", "z", "b", "a", "x", "y"], parents.get)
    assert on_loop == {"x", "y"}
    assert order.index("a") < order.index("b") < order.index("c")
    assert loops(on_loop, parents.get) == [["x", "y"]]
    # A long chain does not exhaust the stack.
    chain = {str(i): str(i - 1) if i else None for i in range(20_000)}
    order, on_loop = order_parents_first(list(reversed(chain)), chain.get)
    assert order[0] == "0" and not on_loop


@pytest.mark.parametrize("seed", range(40))
def test_random_orgs_keep_the_invariants(seed: int) -> None:
    """Random current orgs and random (partly broken) snapshots: every row counted once,
    applying never breaks a database rule or makes a loop, and planning the same snapshot
    again after applying finds nothing left to do."""
    rnd = random.Random(seed)
    depts = [dept("root", "Root")] + [
        dept(f"d{i}", f"Dept {i % 5}", parent=rnd.choice(["root", f"d{max(i - 1, 0)}"]))
        for i in range(1, 8)
    ]
    numbers = [f"N{i}" for i in range(40)]
    first = [person(numbers[0], dept_key="root")] + [
        person(n, rnd.choice(numbers[:i]), rnd.choice(depts).key)
        for i, n in enumerate(numbers)
        if i
    ]
    _, org = imported(first, depts)
    # A messy second snapshot: leavers, moves, new hires, bad rows, loops, duplicates.
    pool = numbers + [f"M{i}" for i in range(15)]
    people: list[SourcePerson] = []
    for row, n in enumerate(rnd.sample(pool, 45), start=1):
        roll = rnd.random()
        manager = rnd.choice([*pool, "", "GHOST"]) if roll < 0.9 else n
        extra: dict[str, object] = {"row": row}
        if roll < 0.05:
            extra["email"] = "broken"
        if 0.05 <= roll < 0.1:
            extra["active"] = False
        if 0.1 <= roll < 0.15:
            extra["external_id"] = f"ext-{rnd.randint(0, 5)}"
        if 0.15 <= roll < 0.2:
            n = n.lower()  # the same person as N.. (numbers compare without case)
        if 0.2 <= roll < 0.25:
            extra["email"] = rnd.choice(["Shared@example.com", "shared@EXAMPLE.com"])
        people.append(person(n, manager, rnd.choice([*[d.key for d in depts], "nope"]), **extra))
    if rnd.random() < 0.5:
        people.append(replace(people[0], row=99))  # a duplicate number
    # Departments move (possibly into loops), get renamed (possibly into name clashes), appear.
    depts2 = [depts[0]]
    for d in depts[1:]:
        roll = rnd.random()
        if roll < 0.2:
            d = replace(d, parent_key=rnd.choice([x.key for x in depts]))
        elif roll < 0.3:
            d = replace(d, name=f"Dept {rnd.randint(0, 5)}")
        depts2.append(d)
    depts2 += [dept(f"n{i}", f"Dept {i}", parent=rnd.choice(depts).key) for i in range(2)]
    snap = snapshot(people, depts2)
    plan = plan_sync(snap, org, new_id=planner_ids())
    c = plan.counts
    in_source = {login_key(p.employee_number) for p in people}
    missing_active = sum(
        1 for e in org.employees if e.active and login_key(e.employee_number) not in in_source
    )
    assert c.created + c.updated + c.moved + c.deactivated + c.unchanged + c.rejected == (
        len(people) + missing_active
    )
    reported = [r for r in plan.rows if r.kind == "person" and r.action != "linked"]
    assert len(reported) == c.created + c.updated + c.moved + c.deactivated + c.rejected
    after = apply(org, plan)
    again = plan_sync(snap, after, new_id=planner_ids())
    if c.departments_rejected == 0:
        assert again.operations == (), again.operations
        assert again.counts.rejected == c.rejected
    # Department clashes (a move into a loop freeing a name, ...) settle within a few runs.
    for _ in range(3):
        if not again.operations:
            break
        after = apply(after, again)
        again = plan_sync(snap, after, new_id=planner_ids())
    assert again.operations == ()


def test_the_counts_have_one_definition_and_the_contract_matches_it() -> None:
    """workflows.org_sync.SyncCounts is the one definition: the planner fills it, the
    workflow reports it, the gateway answers with it; the protobuf carries the same fields."""
    from dataclasses import fields

    from gateway.schemas.org_sync import OrgSyncRun
    from services.identity.sync import data
    from services.identity.sync.convert import counts_from_pb, counts_pb
    from stride.identity.v1 import org_sync_pb2
    from workflows.sync_counts import SyncCounts

    names = [f.name for f in fields(SyncCounts)]
    assert names == [f.name for f in org_sync_pb2.OrgSyncCounts.DESCRIPTOR.fields]
    assert OrgSyncRun.model_fields["counts"].annotation == SyncCounts | None
    counts = SyncCounts(**{name: i for i, name in enumerate(names)})
    assert counts_from_pb(counts_pb(counts)) == counts
    assert data.counts_from_json(data.counts_to_json(counts)) == counts
