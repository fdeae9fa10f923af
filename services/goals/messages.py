"""Goals rows <-> protobuf messages (pure translation, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from services.common.enums import enum_values
from services.common.errors import InvalidArgument
from services.common.models import rfc3339
from services.goals import domain, scoring
from services.goals.models import (
    Approval,
    CheckIn,
    CheckInVersion,
    Checklist,
    Cycle,
    DepartmentBlocker,
    KeyResult,
    Objective,
    Revision,
    RiskRuleSet,
)
from services.goals.risk_rules import Rule, RuleSet
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import (
    APPROVAL_STATUSES,
    DATA_SOURCES,
    DIRECTIONS,
    KINDS,
    LEVELS,
    VISIBILITIES,
    ObjectiveStatus,
    Phase,
    Risk,
)

CYCLE_STATUS = {"open": pb.CYCLE_STATUS_OPEN, "closed": pb.CYCLE_STATUS_CLOSED}
RISK_STATUS = enum_values(Risk, pb.RiskStatus)
PHASE = enum_values(Phase, pb.CyclePhase)
LEVEL = enum_values(LEVELS, pb.ObjectiveLevel)
OBJECTIVE_STATUS = enum_values(ObjectiveStatus, pb.ObjectiveStatus)
VISIBILITY = enum_values(VISIBILITIES, pb.Visibility)
KIND = enum_values(KINDS, pb.KeyResultKind)
DIRECTION = enum_values(DIRECTIONS, pb.Direction)
DATA_SOURCE = enum_values(DATA_SOURCES, pb.DataSource)
APPROVAL_KIND = {"plan": pb.APPROVAL_KIND_PLAN, "revision": pb.APPROVAL_KIND_REVISION}
APPROVAL_STATUS = enum_values(APPROVAL_STATUSES, pb.ApprovalStatus)
REVISION_STATUS = enum_values(APPROVAL_STATUSES, pb.RevisionStatus)
DECISION = {pb.DECISION_APPROVE: "approve", pb.DECISION_REJECT: "reject"}


def from_enum(mapping: Mapping[str, int], value: int, field: str, default: str = "") -> str:
    """The stored name of a request's enum value ("" / default when unspecified)."""
    if value == 0:
        return default
    for name, number in mapping.items():
        if number == value:
            return str(name)
    raise InvalidArgument(f"invalid_{field}", f"unknown {field}")


def iso_date(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def cycle_pb(row: Cycle) -> pb.Cycle:
    return pb.Cycle(
        id=row.id,
        name=row.name,
        start_date=row.start_date.isoformat(),
        end_date=row.end_date.isoformat(),
        time_zone=row.time_zone,
        status=CYCLE_STATUS.get(row.status, pb.CYCLE_STATUS_UNSPECIFIED),
        created_at=rfc3339(row.created_at),
        phase=PHASE.get(row.phase, pb.CYCLE_PHASE_UNSPECIFIED),
        planning_deadline=iso_date(row.planning_deadline),
        approval_deadline=iso_date(row.approval_deadline),
        closing_deadline=iso_date(row.closing_deadline),
        backfill=row.backfill,
    )


def objective_pb(row: Objective, key_results: Sequence[KeyResult] = ()) -> pb.Objective:
    return pb.Objective(
        id=row.id,
        cycle_id=row.cycle_id,
        title=row.title,
        description=row.description,
        owner_id=row.owner_id,
        department_id=row.department_id,
        created_at=rfc3339(row.created_at),
        level=LEVEL.get(row.level, pb.OBJECTIVE_LEVEL_UNSPECIFIED),
        status=OBJECTIVE_STATUS.get(row.status, pb.OBJECTIVE_STATUS_UNSPECIFIED),
        visibility=VISIBILITY.get(row.visibility, pb.VISIBILITY_UNSPECIFIED),
        parent_id=row.parent_id or "",
        project=row.project,
        start_date=iso_date(row.start_date),
        end_date=iso_date(row.end_date),
        score=scoring.objective_score((k.weight, k.score) for k in key_results),
        key_result_count=len(key_results),
        weight_total=sum(k.weight for k in key_results),
        updated_at=rfc3339(row.updated_at),
        stretch=row.stretch,
    )


def risk_pb(row: KeyResult | CheckIn | CheckInVersion) -> pb.RiskAssessment:
    return pb.RiskAssessment(
        status=RISK_STATUS[Risk(row.risk_status)],
        progress=row.risk_progress,
        expected_progress=row.risk_expected_progress,
        expected_value=row.risk_expected_value,
        shortfall=row.risk_shortfall,
        behind_streak=row.risk_behind_streak,
        rule_version=row.risk_rule_version,
    )


def key_result_pb(row: KeyResult, objective_status: str = "") -> pb.KeyResult:
    message = pb.KeyResult(
        id=row.id,
        objective_id=row.objective_id,
        cycle_id=row.cycle_id,
        title=row.title,
        owner_id=row.owner_id,
        department_id=row.department_id,
        baseline=row.baseline,
        target=row.target,
        unit=row.unit,
        current_value=row.current_value,
        risk=risk_pb(row),
        created_at=rfc3339(row.created_at),
        kind=KIND.get(row.kind, pb.KEY_RESULT_KIND_UNSPECIFIED),
        direction=DIRECTION.get(row.direction, pb.DIRECTION_UNSPECIFIED),
        weight=row.weight,
        confidence=row.confidence,
        data_source=DATA_SOURCE.get(row.data_source, pb.DATA_SOURCE_UNSPECIFIED),
        milestones=list(row.milestones or []),
        plan=[pb.PlanPoint(date=d, progress=p) for d, p in (row.plan or [])],
        score=row.score,
        currency=row.currency,
        lower_bound=row.lower_bound,
        upper_bound=row.upper_bound,
        last_check_in_week=row.last_check_in_week,
        updated_at=rfc3339(row.updated_at),
        revision=row.revision,
        objective_status=OBJECTIVE_STATUS.get(objective_status, pb.OBJECTIVE_STATUS_UNSPECIFIED),
    )
    if row.self_score is not None:
        message.self_score = row.self_score
    return message


def check_in_pb(row: CheckIn | CheckInVersion) -> pb.CheckIn:
    return pb.CheckIn(
        id=row.id if isinstance(row, CheckIn) else row.check_in_id,
        key_result_id=row.key_result_id,
        week=row.week,
        value=row.value,
        confidence=row.confidence,
        note=row.note,
        recorded_at=rfc3339(row.recorded_at),
        risk=risk_pb(row),
        revision=row.revision,
        blockers=[
            pb.Blocker(text=b["text"], department_id=b.get("department_id", ""), id=b.get("id", ""))
            for b in (row.blockers or [])
        ],
        answers=[
            pb.ChecklistAnswer(item_id=a["item_id"], checked=bool(a["checked"]))
            for a in (row.answers or [])
        ],
        score=row.score,
        recorded_by=row.recorded_by,
    )


def checklist_pb(department_id: str, row: Checklist | None) -> pb.Checklist:
    if row is None:
        return pb.Checklist(department_id=department_id)
    return pb.Checklist(
        department_id=row.department_id,
        items=[
            pb.ChecklistItem(id=i["id"], label_zh=i["label_zh"], label_en=i["label_en"])
            for i in row.items
        ],
        updated_at=rfc3339(row.updated_at),
    )


def approval_pb(row: Approval, approver_ids: Sequence[str]) -> pb.Approval:
    return pb.Approval(
        id=row.id,
        kind=APPROVAL_KIND.get(row.kind, pb.APPROVAL_KIND_UNSPECIFIED),
        status=APPROVAL_STATUS.get(row.status, pb.APPROVAL_STATUS_UNSPECIFIED),
        cycle_id=row.cycle_id,
        employee_id=row.employee_id,
        department_id=row.department_id,
        objective_ids=list(row.objective_ids or []),
        revision_id=row.revision_id,
        approver_ids=list(approver_ids),
        escalated=row.escalated,
        workflow_id=row.workflow_id,
        decided_by=row.decided_by,
        comment=row.comment,
        created_at=rfc3339(row.created_at),
        decided_at=rfc3339(row.decided_at),
        overridden=row.overridden,
    )


def revision_pb(row: Revision) -> pb.Revision:
    return pb.Revision(
        id=row.id,
        key_result_id=row.key_result_id,
        objective_id=row.objective_id,
        cycle_id=row.cycle_id,
        owner_id=row.owner_id,
        status=REVISION_STATUS.get(row.status, pb.REVISION_STATUS_UNSPECIFIED),
        old_target=row.old_target,
        new_target=row.new_target,
        reason=row.reason,
        approval_id=row.approval_id,
        requested_by=row.requested_by,
        requested_at=rfc3339(row.requested_at),
        decided_by=row.decided_by,
        decided_at=rfc3339(row.decided_at),
        comment=row.comment,
    )


def scores_pb(cycle_id: str, board: scoring.ScoreBoard) -> pb.Scores:
    people = []
    for p in board.people:
        person = pb.PersonScore(
            employee_id=p.employee_id, score=p.score, key_result_count=p.key_result_count
        )
        if p.self_score is not None:
            person.self_score = p.self_score
        people.append(person)
    return pb.Scores(
        cycle_id=cycle_id,
        objectives=[
            pb.ObjectiveScore(
                objective_id=o.objective.id,
                title=o.objective.title,
                owner_id=o.objective.owner_id,
                department_id=o.objective.department_id,
                level=LEVEL.get(o.objective.level, pb.OBJECTIVE_LEVEL_UNSPECIFIED),
                score=o.score,
                aligned=o.aligned,
            )
            for o in board.objectives
        ],
        people=people,
        departments=[
            pb.DepartmentScore(
                department_id=d.department_id,
                score=d.score,
                key_result_count=d.key_result_count,
                objective_count=d.objective_count,
                alignment=d.alignment,
            )
            for d in board.departments
        ],
        alignment=board.alignment,
        aligned_count=board.aligned_count,
        objective_count=board.objective_count,
    )


def plan_json(points: Sequence[tuple[date, float]]) -> list[list[object]]:
    return [[d.isoformat(), p] for d, p in points]


def spec_of(row: KeyResult) -> domain.KeyResultSpec:
    return domain.KeyResultSpec(
        title=row.title,
        baseline=row.baseline,
        target=row.target,
        unit=row.unit,
        kind=row.kind,
        direction=row.direction,
        weight=row.weight,
        confidence=row.confidence,
        data_source=row.data_source,
        milestones=tuple(row.milestones or []),
        plan=tuple((d, float(p)) for d, p in (row.plan or [])),
        currency=row.currency,
        lower_bound=row.lower_bound,
        upper_bound=row.upper_bound,
    )


def spec_from(request: pb.CreateKeyResultRequest | pb.NewKeyResult) -> domain.KeyResultSpec:
    return domain.KeyResultSpec(
        title=request.title,
        baseline=request.baseline,
        target=request.target,
        unit=request.unit,
        kind=from_enum(KIND, request.kind, "kind", "number"),
        direction=from_enum(DIRECTION, request.direction, "direction"),
        weight=request.weight,
        confidence=request.confidence,
        data_source=from_enum(DATA_SOURCE, request.data_source, "data_source", "manual"),
        milestones=tuple(request.milestones),
        plan=tuple((p.date, p.progress) for p in request.plan),
        currency=request.currency,
        lower_bound=request.lower_bound,
        upper_bound=request.upper_bound,
    )


def department_blocker_pb(row: DepartmentBlocker) -> pb.DepartmentBlocker:
    return pb.DepartmentBlocker(
        id=row.id,
        department_id=row.department_id,
        text=row.text,
        key_result_id=row.key_result_id,
        check_in_id=row.check_in_id,
        week=row.week,
        owner_id=row.owner_id,
        from_department_id=row.from_department_id,
        created_at=rfc3339(row.created_at),
        resolved_at=rfc3339(row.resolved_at) if row.resolved_at is not None else "",
        resolved_by=row.resolved_by,
        cycle_id=row.cycle_id,
    )


# --- risk rule sets ------------------------------------------------------------------
def rule_set_of(row: RiskRuleSet) -> RuleSet:
    overrides = {o["department_id"]: Rule(o["threshold"], o["weeks"]) for o in row.overrides}
    return RuleSet(row.version, Rule(row.threshold, row.weeks), overrides)


def rule_set_from_pb(message: pb.RiskRules) -> RuleSet:
    overrides = {o.department_id: Rule(o.rule.threshold, o.rule.weeks) for o in message.overrides}
    return RuleSet(message.version, Rule(message.rule.threshold, message.rule.weeks), overrides)


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
