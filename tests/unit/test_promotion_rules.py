"""The promotion review's pure rules: eligibility against HR's rules (known answers), the
conflict of interest, who may apply and the workflow validators' refusals."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.errors import DomainError, InvalidArgument
from services.feedback.domain.promotions import (
    REASON_HIRE_DATE_UNKNOWN,
    REASON_NOT_ENOUGH_RATINGS,
    REASON_RATING_BELOW,
    REASON_TENURE,
    Rules,
    checked_grade,
    checked_rules,
    eligibility_reasons,
    ensure_may_apply,
    full_months,
)
from workflows.promotion_rules import (
    ERROR_ALREADY_SCORED,
    ERROR_CONFLICT,
    ERROR_NOT_MEMBER,
    ERROR_SCORE_RANGE,
    PanelScore,
    PromotionState,
    Score,
    SetPanel,
    conflicted,
    panel_error,
    quorum_of,
    score_error,
)
from workflows.vocabulary import PROMOTION_PANEL

TODAY = date(2026, 12, 3)
HIRED = date(2024, 3, 1)


def ratings(*values: str) -> list[tuple[date, str]]:
    """Newest first, one quarter apart."""
    return [(date(2026, 9 - 3 * i, 30), r) for i, r in enumerate(values)]


def test_the_last_two_ratings_b_or_better_and_a_year_is_eligible() -> None:
    assert eligibility_reasons(ratings("A", "B", "D"), HIRED, TODAY, Rules()) == []


def test_an_older_c_does_not_count_a_recent_one_does() -> None:
    assert eligibility_reasons(ratings("B", "C"), HIRED, TODAY, Rules()) == [REASON_RATING_BELOW]
    # Given out of order, the newest two still decide.
    shuffled = list(reversed(ratings("S", "A", "D")))
    assert eligibility_reasons(shuffled, HIRED, TODAY, Rules()) == []


def test_every_reason_that_applies_is_given() -> None:
    hired = date(2026, 6, 4)  # 5 full months before TODAY
    assert eligibility_reasons(ratings("C"), hired, TODAY, Rules()) == [
        REASON_NOT_ENOUGH_RATINGS,
        REASON_RATING_BELOW,
        REASON_TENURE,
    ]
    assert eligibility_reasons(ratings("A", "A"), None, TODAY, Rules()) == [
        REASON_HIRE_DATE_UNKNOWN
    ]
    lenient = Rules(min_rating="D", ratings_count=0, min_tenure_months=0)
    assert eligibility_reasons([], None, TODAY, lenient) == []


def test_full_months() -> None:
    assert full_months(date(2025, 12, 3), TODAY) == 12
    assert full_months(date(2025, 12, 4), TODAY) == 11
    assert full_months(date(2026, 1, 31), date(2026, 2, 28)) == 0
    assert full_months(date(2027, 1, 1), TODAY) == 0


def test_rules_and_grades_are_validated() -> None:
    assert checked_rules("A", 3, 24) == Rules("A", 3, 24)
    for bad in (("E", 2, 12), ("B", -1, 12), ("B", 99, 12), ("B", 2, -3)):
        with pytest.raises(InvalidArgument):
            checked_rules(*bad)
    assert checked_grade(" P5 ", "target_grade") == "P5"
    with pytest.raises(InvalidArgument) as err:
        checked_grade("P 5", "target_grade")
    assert err.value.code == "invalid_target_grade"


def test_only_the_candidate_or_their_manager_applies() -> None:
    ensure_may_apply("emp-a", "emp-a", "emp-m")
    ensure_may_apply("emp-m", "emp-a", "emp-m")
    with pytest.raises(DomainError) as err:
        ensure_may_apply("emp-peer", "emp-a", "emp-m")
    assert err.value.code == "not_candidate_or_manager"


def test_conflict_of_interest_is_the_candidate_the_manager_and_the_reporting_line() -> None:
    line = ["emp-m", "emp-director", "emp-ceo"]
    for member in ("emp-a", "emp-m", "emp-director", "emp-ceo"):
        assert conflicted(member, "emp-a", "emp-m", line)
    assert not conflicted("emp-peer", "emp-a", "emp-m", line)
    # The manager is refused even when the reporting line is unknown.
    assert conflicted("emp-m", "emp-a", "emp-m", [])


def state(**changes: object) -> PromotionState:
    s = PromotionState("case-1", "emp-a", "emp-a", "P4", "P5", phase=PROMOTION_PANEL)
    s.manager_id = "emp-m"
    for key, value in changes.items():
        setattr(s, key, value)
    return s


def test_panel_and_score_validators() -> None:
    line = ["emp-m", "emp-director"]
    assert panel_error(state(), line, SetPanel("emp-hr", ["emp-x", "emp-director"], True)) == (
        ERROR_CONFLICT
    )
    assert panel_error(state(), line, SetPanel("emp-hr", ["emp-x", "emp-y"], True)) is None
    named = state(panel=["emp-x", "emp-y"], scores=[PanelScore("emp-x", 4)])
    assert score_error(named, line, Score("emp-director", 5)) == ERROR_CONFLICT
    assert score_error(named, line, Score("emp-z", 5)) == ERROR_NOT_MEMBER
    assert score_error(named, line, Score("emp-x", 5)) == ERROR_ALREADY_SCORED
    assert score_error(named, line, Score("emp-y", 0)) == ERROR_SCORE_RANGE
    assert score_error(named, line, Score("emp-y", 5)) is None


def test_quorum_is_at_most_the_panel() -> None:
    assert quorum_of(3, 5) == 3
    assert quorum_of(3, 2) == 2
    assert quorum_of(0, 0) == 1
