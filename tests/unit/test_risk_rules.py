"""Risk rule sets and the backtest (pure)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.common.errors import InvalidArgument
from services.goals import risk
from services.goals.backtest import Escalation, Replayed, backtest
from services.goals.risk_rules import Rule, RuleSet, rule_set_from_json, valid_rule_set
from workflows.vocabulary import week_of

START = date(2026, 1, 5)  # a Monday; 13 weeks
PLAN = risk.Plan(0.0, 100.0, START, START + timedelta(weeks=13, days=-1))


def week(i: int) -> str:
    return week_of(START + timedelta(weeks=i))


def on_plan(i: int, share: float = 1.0) -> float:
    """The value at ``share`` of what the plan expects by the end of week ``i``."""
    return 100.0 * (i + 1) / 13 * share


def kr(kr_id: str, shares: list[float], department: str = "d1") -> Replayed:
    checks = [(week(i), on_plan(i, s)) for i, s in enumerate(shares)]
    return Replayed(kr_id, department, PLAN, None, checks)


def test_a_rule_outside_the_bounds_is_refused_with_its_code() -> None:
    with pytest.raises(InvalidArgument) as err:
        valid_rule_set(0, 0.01, 2, [])
    assert err.value.code == "invalid_risk_threshold"
    with pytest.raises(InvalidArgument) as err:
        valid_rule_set(0, 0.2, 9, [])
    assert err.value.code == "invalid_risk_weeks"
    with pytest.raises(InvalidArgument) as err:
        valid_rule_set(0, 0.2, 2, [("d1", 0.3, 2), ("d1", 0.4, 2)])
    assert err.value.code == "duplicate_override"
    with pytest.raises(InvalidArgument) as err:
        valid_rule_set(0, 0.2, 2, [("d1", 0.95, 2)])
    assert err.value.code == "invalid_risk_threshold" and "overrides[0]" in err.value.message


def test_a_department_override_applies_to_exactly_that_department() -> None:
    rules = valid_rule_set(3, 0.2, 2, [("ops", 0.1, 3)])
    assert rules.for_department("ops") == Rule(0.1, 3)
    assert rules.for_department("ops-child") == Rule(0.2, 2)


def test_a_rules_file_is_read_or_refused_with_a_reason() -> None:
    rules = rule_set_from_json(
        '{"threshold": 0.3, "weeks": 3, "overrides": [{"department_id": "x", "weeks": 1}]}'
    )
    assert rules.default == Rule(0.3, 3)
    assert rules.overrides == {"x": Rule(0.2, 1)}
    for bad in ("[1]", "{", '{"threshold": "high"}', '{"overrides": {}}', '{"weeks": true}'):
        with pytest.raises(InvalidArgument) as err:
            rule_set_from_json(bad)
        assert err.value.code == "invalid_rules_file"


def test_the_backtest_walks_the_escalation_ladder_week_by_week() -> None:
    items = [
        kr("steady", [0.7] * 6),  # 30 % behind every week
        kr("recovers", [0.5, 0.5, 1.0, 0.5, 0.5, 0.5]),
        kr("on-plan", [1.0] * 6),
    ]
    found = {o.key_result_id: o for o in backtest(items, RuleSet(1))}
    # 20 % × 2 weeks: at risk from the second week; warning there, red the next.
    assert found["steady"].escalations == (Escalation(week(1), week(2)),)
    assert found["steady"].at_risk_weeks == tuple(week(i) for i in range(1, 6))
    # Back on plan in week 2 ends the first escalation; weeks 3-4 behind start a new one.
    assert found["recovers"].escalations == (
        Escalation(week(1), "", resolved_week=week(2)),
        Escalation(week(4), week(5)),
    )
    assert found["on-plan"].escalations == ()


def test_a_looser_rule_or_a_department_override_changes_the_answer() -> None:
    items = [kr("steady", [0.7] * 6, "d2"), kr("recovers", [0.5, 0.5, 1.0, 0.5, 0.5, 0.5])]
    looser = valid_rule_set(0, 0.4, 2, [("d2", 0.2, 3)])
    found = {o.key_result_id: o for o in backtest(items, looser)}
    # d2's own rule: 20 % behind three weeks running.
    assert found["steady"].rule == Rule(0.2, 3)
    assert found["steady"].escalations == (Escalation(week(2), week(3)),)
    # 50 % behind is behind under 40 % too: the same escalations.
    assert [e.warning_week for e in found["recovers"].escalations] == [week(1), week(4)]
    only_40 = valid_rule_set(0, 0.4, 2, [])
    assert backtest([kr("steady", [0.7] * 6)], only_40)[0].escalations == ()


def test_a_stay_within_key_result_escalates_while_outside_its_band() -> None:
    checks = [(week(i), v) for i, v in enumerate([3.0, 6.0, 7.0, 4.0])]
    item = Replayed("downtime", "d1", None, risk.Band(0.0, 4.0), checks)
    (outcome,) = backtest([item], RuleSet(1))
    assert outcome.escalations == (Escalation(week(2), "", resolved_week=week(3)),)
