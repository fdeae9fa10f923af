"""Risk rule sets (HR's versions of the risk rule) and the cycle replay backtests read."""

from __future__ import annotations

import grpc
from sqlalchemy.exc import IntegrityError

from services.common.errors import DomainError, NotFound
from services.common.models import rfc3339, utcnow
from services.common.outbox import new_event_meta
from services.common.request_context import CURRENT_REQUEST
from services.goals import domain
from services.goals.handlers.shared import (
    Deps,
    cycle_of,
    key_results_pb,
    next_page,
    page,
    rule_set_of,
)
from services.goals.models import RiskRuleSet
from services.goals.repository import GoalsRepository
from services.goals.risk_rules import RuleSet, valid_rule_set
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import MAX_NOTE


def rules_pb(row: RiskRuleSet) -> pb.RiskRules:
    return pb.RiskRules(
        version=row.version,
        rule=pb.RiskRule(threshold=row.threshold, weeks=row.weeks),
        overrides=[
            pb.RiskRuleOverride(
                department_id=o["department_id"],
                rule=pb.RiskRule(threshold=o["threshold"], weeks=o["weeks"]),
            )
            for o in row.overrides
        ],
        note=row.note,
        created_by=row.created_by,
        created_at=rfc3339(row.created_at),
    )


async def get(deps: Deps, request: pb.GetRiskRulesRequest) -> pb.RiskRules:
    async with deps.sessions() as session:
        row = await GoalsRepository(session).rule_set(max(request.version, 0))
    if row is None:
        raise NotFound("risk_rules_not_found", f"risk rule set version {request.version} not found")
    return rules_pb(row)


async def list_(deps: Deps, request: pb.ListRiskRulesRequest) -> pb.ListRiskRulesResponse:
    limit, offset = page(request.page)
    async with deps.sessions() as session:
        rows = await GoalsRepository(session).rule_sets(limit, offset)
    return pb.ListRiskRulesResponse(
        rule_sets=[rules_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )


async def set_(deps: Deps, request: pb.SetRiskRulesRequest) -> pb.RiskRules:
    """A new version in force from its commit on (existing assessments keep theirs)."""
    note = domain.clean_text(request.note, "note", MAX_NOTE, required=False, multiline=True)
    candidate = valid_rule_set(
        0,
        request.rule.threshold,
        request.rule.weeks,
        [(o.department_id, o.rule.threshold, o.rule.weeks) for o in request.overrides],
    )
    departments = sorted(candidate.overrides)
    for department_id in departments:
        await deps.identity.department(department_id)
    try:
        row, message = await _add_version(deps, candidate_rows(candidate), note)
    except IntegrityError as exc:  # two changes at once: the key keeps one version n + 1
        raise DomainError(
            "concurrent_risk_rules_change",
            "another change of the risk rules was saved at the same time; read them and retry",
            status=grpc.StatusCode.ABORTED,
        ) from exc
    deps.rules.put(rule_set_of(row))
    return message


def candidate_rows(candidate: RuleSet) -> tuple[float, int, list[dict[str, object]]]:
    overrides: list[dict[str, object]] = [
        {"department_id": d, "threshold": r.threshold, "weeks": r.weeks}
        for d, r in candidate.overrides.items()
    ]
    return candidate.default.threshold, candidate.default.weeks, overrides


async def _add_version(
    deps: Deps, values: tuple[float, int, list[dict[str, object]]], note: str
) -> tuple[RiskRuleSet, pb.RiskRules]:
    threshold, weeks, overrides = values
    async with deps.units() as uow:
        current = await uow.repo.rule_set()
        before = rules_pb(current) if current is not None else None
        row = RiskRuleSet(
            version=(current.version if current is not None else 0) + 1,
            threshold=threshold,
            weeks=weeks,
            overrides=overrides,
            note=note,
            created_by=CURRENT_REQUEST.get().actor,
            created_at=utcnow(),
        )
        uow.repo.add(row)
        message = rules_pb(row)
        await uow.emit(pb.RiskRulesChanged(meta=new_event_meta("goals"), rules=message))
        await uow.audit("risk_rules.set", "risk_rules", str(row.version), before, message)
    return row, message


async def cycle_check_ins(
    deps: Deps, request: pb.ListCycleCheckInsRequest
) -> pb.ListCycleCheckInsResponse:
    """A page of a cycle's key results, each with every check-in's week and value."""
    limit, offset = page(request.page)
    async with deps.sessions() as session:
        repo = GoalsRepository(session)
        cycle = await cycle_of(repo, request.cycle_id)
        rows = await repo.key_results(limit, offset, cycle_id=cycle.id)
        messages = await key_results_pb(repo, rows)
        values = await repo.week_values([r.id for r in rows])
        total = await repo.count_key_results(cycle.id)
    return pb.ListCycleCheckInsResponse(
        key_results=[
            pb.CycleKeyResultCheckIns(
                key_result=m,
                check_ins=[pb.WeekValue(week=w, value=v) for w, v in values[m.id]],
            )
            for m in messages
        ],
        page=next_page(offset, limit, len(rows)),
        total=total,
    )
