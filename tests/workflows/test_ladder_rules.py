"""The ladder's pure rules: comparable key results and training recommendations."""

from __future__ import annotations

from workflows.ladder import (
    MAX_COURSES,
    Course,
    KeyResultProfile,
    behind_before,
    comparable,
    courses_text,
    recommend_courses,
)

NOW = KeyResultProfile("kr-now", "cycle-q4", "dept-sales", unit="pcs", kind="number")
FORECASTING = Course("c-1", "预测", "Forecasting", "https://l/1", ["number"])
PIPELINE = Course("c-2", "管道", "Pipeline", "https://l/2", ["PCS"])
GENERAL = Course("c-3", "目标管理", "Goal setting", "", [])
SCRUM = Course("c-4", "敏捷", "Scrum", "", ["milestone"])


def profile(
    kr: str, cycle: str, dept: str, unit: str = "", at_risk: bool = True
) -> KeyResultProfile:
    return KeyResultProfile(kr, cycle, dept, unit=unit, was_at_risk=at_risk)


def test_comparable_is_another_cycle_with_the_same_unit_or_department() -> None:
    assert comparable(NOW, profile("a", "cycle-q3", "dept-ops", unit=" PCS "))
    assert comparable(NOW, profile("b", "cycle-q3", "dept-sales", unit="eur"))
    assert not comparable(NOW, profile("c", "cycle-q3", "dept-ops", unit="eur"))
    # The same cycle (or the key result itself) is never "earlier".
    assert not comparable(NOW, profile("d", "cycle-q4", "dept-sales", unit="pcs"))
    assert not comparable(NOW, profile("kr-now", "cycle-q3", "dept-sales"))
    # An empty unit matches nothing by unit.
    unitless = KeyResultProfile("x", "cycle-q4", "dept-a")
    assert not comparable(unitless, profile("e", "cycle-q3", "dept-b"))


def test_behind_before_needs_an_at_risk_comparable_key_result() -> None:
    history = [
        profile("on-track", "cycle-q3", "dept-sales", at_risk=False),
        profile("elsewhere", "cycle-q3", "dept-ops", unit="eur"),
        profile("lagged", "cycle-q2", "dept-ops", unit="pcs"),
    ]
    assert behind_before(NOW, history) == ["lagged"]
    assert behind_before(NOW, history[:2]) == []


def test_courses_match_kind_or_unit_else_general_ones_and_only_after_a_past_risk() -> None:
    catalogue = [SCRUM, FORECASTING, GENERAL, PIPELINE]
    lagged = [profile("lagged", "cycle-q2", "dept-sales")]
    assert recommend_courses(NOW, lagged, catalogue) == [FORECASTING, PIPELINE]
    assert recommend_courses(NOW, [], catalogue) == []
    assert recommend_courses(NOW, lagged, [SCRUM, GENERAL]) == [GENERAL]
    assert recommend_courses(NOW, lagged, [SCRUM]) == []
    many = [Course(f"c{n}", "z", "e", "", ["number"]) for n in range(5)]
    assert len(recommend_courses(NOW, lagged, many)) == MAX_COURSES


def test_courses_text_in_both_languages() -> None:
    assert courses_text([]) == ("无", "none")
    zh, en = courses_text([FORECASTING, GENERAL])
    assert zh == "预测(https://l/1);目标管理"
    assert en == "Forecasting (https://l/1); Goal setting"
