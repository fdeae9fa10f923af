from datetime import date

import grpc
import pytest

from services.common.errors import DomainError
from services.goals import domain
from services.goals.domain import KeyResultSpec, key_result_spec

START, END = date(2026, 1, 1), date(2026, 3, 31)


def code(call, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as err:
        call(*args, **kwargs)
    return err.value.code


def spec(**changes) -> KeyResultSpec:
    return domain.spec_with(KeyResultSpec(title="Pass rate", baseline=90, target=97), **changes)


def test_cycle_deadlines_default_and_validate() -> None:
    cycle = domain.new_cycle("2026 Q1", "2026-01-01", "2026-03-31", "", "Asia/Shanghai")
    assert cycle.planning_deadline == date(2026, 1, 8)
    assert cycle.approval_deadline == date(2026, 1, 15)
    assert cycle.closing_deadline == date(2026, 4, 7)
    args = ("2026 Q1", "2026-01-01", "2026-03-31", "", "Asia/Shanghai")
    assert code(domain.new_cycle, *args, "2026-04-02") == "invalid_planning_deadline"
    assert code(domain.new_cycle, *args, "2026-01-10", "2026-01-05") == "invalid_approval_deadline"
    assert code(domain.new_cycle, *args, "", "", "2026-03-01") == "invalid_closing_deadline"


def test_key_result_kinds() -> None:
    assert key_result_spec(spec(), START, END).direction == "increase"
    assert key_result_spec(spec(baseline=6, target=2), START, END).direction == "decrease"
    assert code(key_result_spec, spec(target=90), START, END) == "target_equals_baseline"
    assert (
        code(key_result_spec, spec(direction="decrease"), START, END) == "target_direction_mismatch"
    )
    boolean = key_result_spec(spec(kind="boolean", baseline=5, target=5), START, END)
    assert (boolean.baseline, boolean.target) == (0, 1)
    steps = key_result_spec(spec(kind="milestone", milestones=("a", "b", "c")), START, END)
    assert (steps.baseline, steps.target) == (0, 3)
    assert code(key_result_spec, spec(kind="milestone"), START, END) == "milestones_required"
    band = key_result_spec(
        spec(direction="stay_within", baseline=0, target=0, lower_bound=0, upper_bound=4),
        START,
        END,
    )
    assert (band.lower_bound, band.upper_bound) == (0, 4)
    assert (
        code(
            key_result_spec,
            spec(direction="stay_within", lower_bound=5, upper_bound=4),
            START,
            END,
        )
        == "invalid_bounds"
    )
    assert key_result_spec(spec(kind="currency"), START, END).currency == "CNY"
    assert code(key_result_spec, spec(kind="currency", currency="yuan"), START, END) == (
        "invalid_currency"
    )
    assert code(key_result_spec, spec(weight=101), START, END) == "invalid_weight"
    assert code(key_result_spec, spec(confidence=11), START, END) == "invalid_confidence"


def test_plan_points() -> None:
    valid = key_result_spec(spec(plan=(("2026-02-01", 0.3), ("2026-03-31", 1.0))), START, END)
    assert valid.plan == ((date(2026, 2, 1), 0.3), (date(2026, 3, 31), 1.0))
    assert code(key_result_spec, spec(plan=(("2026-05-01", 0.3),)), START, END) == (
        "plan_outside_cycle"
    )
    assert code(
        key_result_spec, spec(plan=(("2026-02-01", 0.3), ("2026-01-15", 0.5))), START, END
    ) == ("plan_not_ascending")
    assert code(key_result_spec, spec(plan=(("2026-02-01", 1.3),)), START, END) == (
        "invalid_plan_progress"
    )


def test_weights_must_total_100() -> None:
    domain.check_weights_total([25, 25, 30, 20])
    assert code(domain.check_weights_total, [50, 40], "Deliver") == "weights_not_100"
    with pytest.raises(DomainError, match="'Deliver'"):
        domain.check_weights_total([50, 40], "Deliver")
    assert code(domain.check_weights_total, [120, -20]) == "invalid_weight"


def test_check_in_values_by_kind() -> None:
    assert code(domain.check_value, "boolean", 0, 0.5) == "invalid_boolean_value"
    assert domain.check_value("boolean", 0, 1) == 1
    assert code(domain.check_value, "milestone", 3, 4) == "milestone_out_of_range"
    assert code(domain.check_value, "milestone", 3, 1.5) == "milestone_out_of_range"
    assert domain.check_value("milestone", 3, 3) == 3


def test_check_in_blockers_and_answers() -> None:
    today = date(2026, 2, 20)
    new = domain.new_check_in(
        5,
        7,
        "",
        "2026-W07",
        today=today,
        cycle_start=START,
        cycle_end=END,
        blockers=[("Need spare parts", "d-purchasing")],
        answers=[("inspection-records", True)],
        checklist=["inspection-records", "downtime-response"],
    )
    assert new.blockers == (("Need spare parts", "d-purchasing"),)
    kwargs = {"today": today, "cycle_start": START, "cycle_end": END}
    assert (
        code(domain.new_check_in, 5, 7, "", "", blockers=[("  ", "")], **kwargs)
        == "blocker_text_required"
    )
    assert (
        code(domain.new_check_in, 5, 7, "", "", answers=[("other", True)], **kwargs)
        == "unknown_checklist_item"
    )


def test_bulk_rules() -> None:
    assert code(domain.check_bulk, "e1", ["k1", "k1"]) == "duplicate_key_result"
    assert code(domain.check_bulk, "e1", []) == "check_ins_required"
    with pytest.raises(DomainError) as err:
        domain.check_owner("e1", "e2", "k1")
    assert err.value.code == "not_owner" and err.value.status == grpc.StatusCode.PERMISSION_DENIED


def test_plan_submission_rules() -> None:
    good = domain.PlanObjective("o1", "Deliver", "e1", "c1", "draft", (60, 40))
    domain.check_plan("e1", "c1", [good], pending=False)
    assert code(domain.check_plan, "e1", "c1", [good], pending=True) == "approval_pending"
    assert code(domain.check_plan, "e1", "c1", [], pending=False) == "nothing_to_submit"
    empty = domain.PlanObjective("o1", "Deliver", "e1", "c1", "draft", ())
    assert code(domain.check_plan, "e1", "c1", [empty], pending=False) == "no_key_results"
    short = domain.PlanObjective("o1", "Deliver", "e1", "c1", "draft", (60, 30))
    assert code(domain.check_plan, "e1", "c1", [short], pending=False) == "weights_not_100"
    other = domain.PlanObjective("o1", "Deliver", "e2", "c1", "draft", (100,))
    assert code(domain.check_plan, "e1", "c1", [other], pending=False) == "not_owner"
    approved = domain.PlanObjective("o1", "Deliver", "e1", "c1", "approved", (100,))
    assert code(domain.check_plan, "e1", "c1", [approved], pending=False) == "objective_not_draft"


def test_revision_rules() -> None:
    args = ("approved", "number", "increase", 90.0, 97.0)
    assert domain.new_revision(*args, 95.0, " supplier change ", pending=False) == (
        "supplier change"
    )
    assert code(domain.new_revision, *args, 97.0, "x", pending=False) == "target_unchanged"
    assert code(domain.new_revision, *args, 95.0, "", pending=False) == "reason_required"
    assert code(domain.new_revision, *args, 95.0, "x", pending=True) == "revision_pending"
    assert code(domain.new_revision, *args, 80.0, "x", pending=False) == (
        "target_direction_mismatch"
    )
    draft = ("draft", "number", "increase", 90.0, 97.0)
    assert code(domain.new_revision, *draft, 95.0, "x", pending=False) == ("objective_not_approved")


def test_approval_decisions() -> None:
    pending = domain.ApprovalState("pending", ("m1",), "")
    assert domain.decision_applies(pending, "approve", "m1", override=False)
    assert code(domain.decision_applies, pending, "approve", "x", override=False) == (
        "not_approver"
    )
    assert domain.decision_applies(pending, "reject", "hr", override=True)
    assert code(domain.decision_applies, pending, "", "m1", override=False) == "invalid_decision"
    decided = domain.ApprovalState("approved", ("m1",), "m1")
    assert not domain.decision_applies(decided, "approve", "m1", override=False)  # a retry
    assert code(domain.decision_applies, decided, "reject", "m1", override=False) == (
        "approval_not_pending"
    )
    assert code(domain.decision_applies, decided, "approve", "m2", override=False) == (
        "approval_not_pending"
    )
    # Four eyes: not on one's own plan or revision, not even as HR (override).
    own = domain.ApprovalState("pending", ("m1",), "", subject="hr1")
    assert code(domain.decision_applies, own, "approve", "hr1", override=True) == "own_approval"
    assert domain.decision_applies(own, "approve", "hr2", override=True)
    nobody = domain.ApprovalState("pending", (), "")
    assert code(domain.decision_applies, nobody, "approve", "m1", override=False) == (
        "not_approver"
    )
    assert domain.merged_approvers(["m1"], ["m2", "m1", "m2"]) == ["m1", "m2"]


def test_self_score_only_while_closing() -> None:
    assert domain.check_self_score("closing", 0.7) == 0.7
    assert code(domain.check_self_score, "execution", 0.7) == "not_closing_phase"
    assert code(domain.check_self_score, "closing", 1.2) == "invalid_self_score"


def test_phase_changes() -> None:
    assert not domain.phase_change("open", "planning", "planning")
    assert domain.phase_change("open", "planning", "execution")
    assert code(domain.phase_change, "closed", "archived", "closing") == "cycle_closed"
    assert not domain.phase_change("closed", "archived", "archived")
    assert code(domain.phase_change, "open", "closing", "archived") == "use_close_cycle"


def test_copy_rules() -> None:
    # Q4 2025 (92 days) -> Q1 2026 (90 days): the same shape, the end stays the end.
    points = ((date(2025, 11, 16), 0.3), (date(2025, 12, 31), 1.0))
    moved = domain.rescale_plan(
        points, (date(2025, 10, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 3, 31))
    )
    assert moved == ((date(2026, 2, 15), 0.3), (date(2026, 3, 31), 1.0))
    parents = {"a": None, "b": "a", "c": "z", "d": "yearly"}
    remapped = domain.remap_parents(
        parents, {"a": "A", "b": "B", "c": "C", "d": "D"}, {"a", "b", "c", "d", "z"}
    )
    assert remapped == {"A": None, "B": "A", "C": None, "D": "yearly"}


def test_checklist_items() -> None:
    items = domain.checklist_items([("inspection-records", "检验记录完整", "Inspection records")])
    assert items[0]["id"] == "inspection-records"
    assert code(domain.checklist_items, [("Bad Id", "a", "b")]) == "invalid_checklist_item_id"
    assert code(domain.checklist_items, [("a", "", "b")]) == "label_zh_required"
    assert code(domain.checklist_items, [("a", "x", "y"), ("a", "x", "y")]) == (
        "duplicate_checklist_item"
    )


def test_check_in_owner_rule_is_one_rule_for_single_and_bulk():
    # Internal callers (no actor), anyone-reachers and the owner pass.
    domain.check_may_check_in(None, "e2", "k1")
    domain.check_may_check_in(domain.CheckInActor("e1", any_owner=True), "e2", "k1")
    domain.check_may_check_in(domain.CheckInActor("e2"), "e2", "k1")
    # Someone else's key result: PERMISSION_DENIED not_owner (the gateway answers 404/403).
    with pytest.raises(DomainError) as err:
        domain.check_may_check_in(domain.CheckInActor("e1"), "e2", "k1")
    assert (err.value.code, err.value.status) == ("not_owner", grpc.StatusCode.PERMISSION_DENIED)
