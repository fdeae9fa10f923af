"""The backtest: a cycle's check-ins replayed week by week against a risk rule set, walking
the escalation ladder of ``kr-escalation/<kr>`` (pure; ``stride risk backtest`` runs it).

Each check-in is assessed as of its own week, as it was when recorded live; the ladder is the
workflow's own rule (:func:`workflows.kr_escalation.apply_risk_signal`): the escalation starts
at the first at-risk week (*warning*), the next at-risk week makes it *red*, back on track ends
it, and a later at-risk week starts a new one. Blockers naming another department are not
replayed (the ladder by lagging weeks only). Not imported by the goals service (the workflow
module brings the Temporal SDK).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.goals import risk
from services.goals.risk_rules import Rule, RuleSet
from workflows.kr_escalation import (
    STATUS_ACTIVE,
    EscalationState,
    RiskSignal,
    apply_risk_signal,
)
from workflows.vocabulary import Risk

# Levels of the ladder (workflows.kr_escalation.LEVEL_NAMES).
WARNING = 1
RED = 2


@dataclass(frozen=True)
class Replayed:
    """One key result as the backtest sees it: its shape and its check-ins."""

    key_result_id: str
    department_id: str
    # ``plan`` for increase/decrease key results, ``band`` for stay-within ones.
    plan: risk.Plan | None
    band: risk.Band | None
    # (ISO week, value)
    check_ins: Sequence[tuple[str, float]]


@dataclass(frozen=True)
class Escalation:
    """One escalation the rule set would have raised: the weeks it reached each rung."""

    warning_week: str
    red_week: str = ""
    # The week back on track ("" if it lasted to the end of the data).
    resolved_week: str = ""


@dataclass(frozen=True)
class Outcome:
    key_result_id: str
    rule: Rule
    escalations: tuple[Escalation, ...] = ()
    # Weeks whose check-in left the key result at risk.
    at_risk_weeks: tuple[str, ...] = ()


def assessments(item: Replayed, rule: Rule) -> list[tuple[str, risk.Assessment]]:
    """The assessment after each check-in week, in week order (as recorded live: each as of
    its own week)."""
    ordered = sorted(item.check_ins)
    found: list[tuple[str, risk.Assessment]] = []
    for i, (week, _value) in enumerate(ordered):
        seen = ordered[: i + 1]
        if item.band is not None:
            found.append((week, risk.assess_band(item.band, seen, weeks=rule.weeks)))
        elif item.plan is not None:
            found.append(
                (week, risk.assess(item.plan, seen, threshold=rule.threshold, weeks=rule.weeks))
            )
    return found


def backtest_one(item: Replayed, rules: RuleSet) -> Outcome:
    rule = rules.for_department(item.department_id)
    escalations: list[Escalation] = []
    at_risk: list[str] = []
    state: EscalationState | None = None
    current: Escalation | None = None
    for week, result in assessments(item, rule):
        if result.status == Risk.AT_RISK:
            at_risk.append(week)
        if state is None:
            if result.status != Risk.AT_RISK:
                continue
            state = EscalationState(key_result_id=item.key_result_id)
        signal = RiskSignal(event_id=week, check_in_id="", week=week, status=result.status.value)
        after = apply_risk_signal(state, signal)
        if current is None and after.level >= WARNING:
            current = Escalation(warning_week=week)
        if current is not None and not current.red_week and after.level >= RED:
            current = Escalation(current.warning_week, red_week=week)
        if after.status != STATUS_ACTIVE:
            if current is not None:
                escalations.append(
                    Escalation(current.warning_week, current.red_week, resolved_week=week)
                )
            state, current = None, None
            continue
        state = after
    if current is not None:
        escalations.append(current)
    return Outcome(item.key_result_id, rule, tuple(escalations), tuple(at_risk))


def backtest(items: Sequence[Replayed], rules: RuleSet) -> list[Outcome]:
    """What ``rules`` would have escalated among ``items`` (key results in the given order)."""
    return [backtest_one(item, rules) for item in items]
