"""Key result rows: building them from validated specs, and their risk and score from their
check-ins (the pure rules of services.goals.risk and services.goals.scoring applied to rows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.common.models import new_id, utcnow
from services.goals import domain, risk, scoring
from services.goals.messages import plan_json
from services.goals.models import CheckIn, CheckInVersion, Cycle, KeyResult, Objective
from services.goals.risk_rules import RuleSet
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import Risk

# The rule version of a key result with no check-in yet: no rule has assessed it.
NO_RULE = 0


def store_assessment(
    row: KeyResult | CheckIn | CheckInVersion, result: risk.Assessment, rule_version: int
) -> None:
    row.risk_status = result.status.value
    row.risk_rule_version = rule_version
    row.risk_progress = result.progress
    row.risk_expected_progress = result.expected_progress
    row.risk_expected_value = result.expected_value
    row.risk_shortfall = result.shortfall
    row.risk_behind_streak = result.behind_streak


def plan_of(kr: KeyResult | pb.KeyResult, start: date, end: date) -> risk.Plan:
    """The plan the risk rule compares ``kr``'s check-ins with (a row or its message)."""
    points = (
        tuple((date.fromisoformat(d), float(p)) for d, p in (kr.plan or []))
        if isinstance(kr, KeyResult)
        else tuple((date.fromisoformat(p.date), p.progress) for p in kr.plan)
    )
    return risk.Plan(kr.baseline, kr.target, start, end, points)


def assess(
    kr: KeyResult, cycle: Cycle, checks: Sequence[tuple[str, float]], rules: RuleSet
) -> risk.Assessment:
    """``kr``'s risk from its check-ins under the rule its department has in ``rules``."""
    rule = rules.for_department(kr.department_id)
    if kr.direction == "stay_within":
        band = risk.Band(kr.lower_bound, kr.upper_bound)
        return risk.assess_band(band, checks, weeks=rule.weeks)
    plan = plan_of(kr, cycle.start_date, cycle.end_date)
    return risk.assess(plan, checks, threshold=rule.threshold, weeks=rule.weeks)


def score_of(kr: KeyResult, checks: Sequence[tuple[str, float]]) -> float:
    shape = scoring.KeyResultShape(
        kind=kr.kind,
        direction=kr.direction,
        baseline=kr.baseline,
        target=kr.target,
        lower_bound=kr.lower_bound,
        upper_bound=kr.upper_bound,
        milestone_count=len(kr.milestones or []),
    )
    return scoring.key_result_score(shape, [v for _w, v in sorted(checks)])


def rescore(
    kr: KeyResult, cycle: Cycle, checks: Sequence[tuple[str, float]], rules: RuleSet
) -> None:
    """Recompute a key result's risk, score and current value from its check-ins."""
    store_assessment(kr, assess(kr, cycle, checks, rules), rules.version)
    kr.score = score_of(kr, checks)
    latest = max(checks) if checks else None
    kr.current_value = latest[1] if latest else kr.baseline
    kr.last_check_in_week = latest[0] if latest else ""


def apply_spec(row: KeyResult, valid: domain.ValidKeyResult) -> None:
    row.title = valid.title
    row.baseline = valid.baseline
    row.target = valid.target
    row.unit = valid.unit
    row.kind = valid.kind
    row.direction = valid.direction
    row.weight = valid.weight
    row.confidence = valid.confidence
    row.data_source = valid.data_source
    row.milestones = list(valid.milestones)
    row.plan = plan_json(valid.plan)
    row.currency = valid.currency
    row.lower_bound = valid.lower_bound
    row.upper_bound = valid.upper_bound


def new_key_result(
    objective: Objective, owner_id: str, department_id: str, valid: domain.ValidKeyResult
) -> KeyResult:
    now = utcnow()
    row = KeyResult(
        id=new_id(),
        objective_id=objective.id,
        cycle_id=objective.cycle_id,
        owner_id=owner_id,
        department_id=department_id,
        current_value=valid.baseline,
        score=0.0,
        revision=0,
        last_check_in_week="",
        self_score=None,
        self_score_note="",
        created_at=now,
        updated_at=now,
    )
    apply_spec(row, valid)
    store_assessment(row, risk.Assessment(Risk.NO_DATA), NO_RULE)
    return row


def objective_facts(rows: Sequence[Objective]) -> list[scoring.ObjectiveFacts]:
    return [
        scoring.ObjectiveFacts(
            o.id, o.title, o.owner_id, o.department_id, o.level, o.parent_id or ""
        )
        for o in rows
    ]


def kr_facts(rows: Sequence[KeyResult]) -> list[scoring.KeyResultFacts]:
    return [
        scoring.KeyResultFacts(
            k.id, k.objective_id, k.owner_id, k.department_id, k.weight, k.score, k.self_score
        )
        for k in rows
    ]


def score_board(
    cycle: Cycle, objectives: Sequence[Objective], krs: Sequence[KeyResult]
) -> tuple[scoring.ScoreBoard, list[scoring.KeyResultFacts]]:
    """A cycle's scores (and the key-result facts they were computed from): live over every
    objective while the cycle is open; once it is closed, the final scores over the
    objectives closed with it (never-approved drafts and pending plans are not scored)."""
    facts = objective_facts(objectives)
    return board_of_facts(
        cycle, [(o.status, f) for o, f in zip(objectives, facts, strict=True)], kr_facts(krs)
    )


def board_of_facts(
    cycle: Cycle,
    objectives: Sequence[tuple[str, scoring.ObjectiveFacts]],
    krs: Sequence[scoring.KeyResultFacts],
) -> tuple[scoring.ScoreBoard, list[scoring.KeyResultFacts]]:
    """:func:`score_board` from the facts (objectives with their status) rather than rows."""
    counted = [o for status, o in objectives if domain.in_scores(cycle.status, status)]
    ids = {o.id for o in counted}
    facts = [k for k in krs if k.objective_id in ids]
    return scoring.score_board(counted, facts), facts
