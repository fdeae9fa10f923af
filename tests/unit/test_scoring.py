import pytest

from services.goals.scoring import (
    KeyResultFacts,
    KeyResultShape,
    ObjectiveFacts,
    department_result,
    filtered,
    key_result_score,
    objective_score,
    score_board,
)


def test_increase_is_clamped_progress() -> None:
    shape = KeyResultShape("percentage", "increase", baseline=90, target=98)
    assert key_result_score(shape, [92, 94]) == pytest.approx(0.5)
    assert key_result_score(shape, [99]) == 1.0  # overshoot scores 1
    assert key_result_score(shape, [85]) == 0.0  # below baseline scores 0
    assert key_result_score(shape, []) == 0.0


def test_decrease_counts_the_way_down() -> None:
    shape = KeyResultShape("number", "decrease", baseline=6, target=2)
    assert key_result_score(shape, [5, 3]) == pytest.approx(0.75)
    assert key_result_score(shape, [1]) == 1.0
    assert key_result_score(shape, [7]) == 0.0


def test_boolean_is_done_or_not() -> None:
    shape = KeyResultShape("boolean", "increase", 0, 1)
    assert key_result_score(shape, [0]) == 0.0
    assert key_result_score(shape, [0, 1]) == 1.0


def test_milestone_is_steps_over_total() -> None:
    shape = KeyResultShape("milestone", "increase", 0, 4, milestone_count=4)
    assert key_result_score(shape, [1, 3]) == pytest.approx(0.75)


def test_stay_within_is_share_of_weeks_inside_the_band() -> None:
    shape = KeyResultShape("number", "stay_within", 0, 0, lower_bound=0, upper_bound=4)
    # Downtime hours per week: 3 of 4 weeks within <= 4 h.
    assert key_result_score(shape, [3, 5, 4, 2]) == pytest.approx(0.75)


def test_objective_score_is_weighted() -> None:
    assert objective_score([(60, 1.0), (40, 0.5)]) == pytest.approx(0.8)
    assert objective_score([]) == 0.0
    assert objective_score([(0, 1.0), (0, 0.0)]) == pytest.approx(0.5)  # no weights yet


def _cross_department():
    company = ObjectiveFacts("c", "Customers first", "ceo", "exec", "company", "")
    delivery = ObjectiveFacts("o", "On-time delivery >= 99 %", "coo", "ops", "department", "c")
    loose = ObjectiveFacts("x", "Tidy warehouse", "w", "purchasing", "team", "")
    krs = [
        KeyResultFacts("k1", "o", "pmc-lead", "pmc", 25, 1.0),
        KeyResultFacts("k2", "o", "buyer", "purchasing", 25, 0.5),
        KeyResultFacts("k3", "o", "qe", "quality", 30, 0.0),
        KeyResultFacts("k4", "o", "eng", "engineering", 20, 0.25, self_score=0.5),
        KeyResultFacts("k5", "x", "buyer", "purchasing", 100, 1.0),
    ]
    return [company, delivery, loose], krs


def test_cross_department_objective_rolls_up_to_each_owning_department() -> None:
    objectives, krs = _cross_department()
    board = score_board(objectives, krs)
    by_id = {o.objective.id: o for o in board.objectives}
    assert by_id["o"].score == pytest.approx((25 * 1 + 25 * 0.5 + 0 + 20 * 0.25) / 100)
    depts = {d.department_id: d for d in board.departments}
    assert depts["pmc"].score == 1.0 and depts["pmc"].key_result_count == 1
    assert depts["quality"].score == 0.0
    # Purchasing owns k2 (weight 25, 0.5) and k5 (weight 100, 1.0).
    assert depts["purchasing"].score == pytest.approx((25 * 0.5 + 100) / 125)
    assert depts["purchasing"].objective_count == 1 and depts["purchasing"].alignment == 0.0
    people = {p.employee_id: p for p in board.people}
    assert people["eng"].self_score == 0.5 and people["qe"].self_score is None
    # Company objectives do not count for alignment: 1 of 2 aligned.
    assert board.alignment == pytest.approx(0.5)
    assert board.aligned_count == 1 and board.objective_count == 3


def test_filtered_by_department_keeps_whole_objective_scores() -> None:
    objectives, krs = _cross_department()
    board = filtered(score_board(objectives, krs), krs, department_id="quality")
    assert board.objectives == []
    assert [d.department_id for d in board.departments] == ["quality"]
    assert [p.employee_id for p in board.people] == ["qe"]
    mine = filtered(score_board(objectives, krs), krs, owner_id="coo")
    assert [o.objective.id for o in mine.objectives] == ["o"]
    assert mine.alignment == 1.0


def test_a_department_from_sums_is_the_boards() -> None:
    """The first page of paged scores builds departments from the database's grouped sums:
    the same as the board's (weighted; equal weights when they total 0; alignment)."""
    objectives = [
        ObjectiveFacts("o1", "Ship", "e1", "d1", "department", ""),
        ObjectiveFacts("o2", "Learn", "e2", "d1", "individual", "o1"),
        ObjectiveFacts("o3", "Grow", "e3", "d2", "company", ""),
    ]
    krs = [
        KeyResultFacts("k1", "o1", "e1", "d1", 60, 0.5),
        KeyResultFacts("k2", "o2", "e2", "d1", 40, 1.0),
        KeyResultFacts("k3", "o3", "e3", "d2", 0, 0.2),
        KeyResultFacts("k4", "o3", "e3", "d2", 0, 0.6),
    ]
    board = {d.department_id: d for d in score_board(objectives, krs).departments}
    d1 = department_result("d1", 2, 60 * 0.5 + 40 * 1.0, 100, 1.5, 2, 2, 1)
    d2 = department_result("d2", 2, 0.0, 0, 0.8, 1, 0, 0)
    assert d1 == board["d1"] and d2.score == pytest.approx(board["d2"].score)
    assert (d2.key_result_count, d2.objective_count, d2.alignment) == (2, 1, 0.0)
    assert department_result("d3", 0, 0.0, 0, 0.0, 1, 1, 1).score == 0.0
