"""Key results, their plans, self-scores, target revisions and escalation state: the bodies
of /key-results and of an objective's key results."""

from __future__ import annotations

import itertools
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gateway.convert import enum_number
from gateway.schemas.common import (
    Amount,
    Confidence,
    Day,
    HumanText,
    Id,
    OptionalId,
    RequestModel,
    ResponseModel,
    Text,
    Title,
    unique,
)
from gateway.schemas.words import (
    ApprovalStatusOut,
    DataSource,
    DataSourceOut,
    Direction,
    DirectionOut,
    KeyResultKind,
    KeyResultKindOut,
    ObjectiveStatusOut,
    RiskStatus,
)
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import (
    CURRENCY_CODE,
    MAX_MILESTONES,
    MAX_NOTE,
    MAX_PLAN_POINTS,
    MAX_UNIT,
    PERCENT_MAX,
    WEIGHT_TOTAL,
)

Weight = Annotated[int, Field(strict=True, ge=0, le=WEIGHT_TOTAL)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Unit = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_UNIT), HumanText(required=False)
]
# An ISO 4217 code, or "" for the default.
Currency = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=rf"^({CURRENCY_CODE})?$")
]
Milestone = Title


def _distinct_steps(steps: list[str]) -> list[str]:
    unique([s.casefold() for s in steps], "milestone")
    return steps


Steps = Annotated[
    list[Milestone], Field(min_length=1, max_length=MAX_MILESTONES), AfterValidator(_distinct_steps)
]


class PlanPoint(RequestModel):
    date: Day = Field(description="by the end of this day (ISO date)...")
    progress: Share = Field(description="...this share of the way (0..1) is expected")


class PlanPointOut(ResponseModel):
    date: str
    progress: float


def _plan_dates(plan: list[PlanPoint] | None) -> None:
    days = [p.date for p in plan or ()]
    if any(b <= a for a, b in itertools.pairwise(days)):
        raise ValueError("plan dates must be strictly increasing")


class KeyResultCreate(RequestModel):
    """A key result. Kinds: ``boolean`` goes from 0 to 1 (baseline/target may be omitted);
    ``milestone`` from 0 to the number of ``milestones`` (target may be omitted);
    ``number``/``percentage``/``currency`` need baseline and target (``currency``: CNY if
    not given). Direction ``increase``: target above baseline; ``decrease``: below (the
    default follows from baseline and target); ``stay_within``: every check-in should lie in
    [lower_bound, upper_bound] (baseline and target optional)."""

    title: Title
    owner_id: OptionalId = Field(default="", description="the objective's owner if empty")
    kind: KeyResultKind = "number"
    direction: Direction | None = Field(
        default=None, description="increase or decrease from baseline and target if omitted"
    )
    milestones: Annotated[
        list[Milestone], Field(max_length=MAX_MILESTONES), AfterValidator(_distinct_steps)
    ] = Field(
        default_factory=list, validate_default=True, description="ordered steps (milestone only)"
    )
    lower_bound: Amount | None = Field(default=None, description="stay_within only")
    upper_bound: Amount | None = Field(
        default=None, validate_default=True, description="stay_within only"
    )
    baseline: Amount | None = Field(default=None, validate_default=True)
    target: Amount | None = Field(default=None, validate_default=True)
    unit: Unit = ""
    weight: Weight | None = Field(
        default=None, description=f"0..{WEIGHT_TOTAL}; an objective's KRs total {WEIGHT_TOTAL}"
    )
    confidence: Confidence = Field(default=5, description="initial confidence 0..10")
    data_source: DataSource = "manual"
    plan: Annotated[list[PlanPoint], Field(max_length=MAX_PLAN_POINTS)] = Field(
        default_factory=list, description="custom plan curve; linear over the cycle if empty"
    )
    currency: Currency = Field(
        default="", description="ISO 4217 (kind currency only), CNY if empty"
    )

    @field_validator("milestones")
    @classmethod
    def _milestones(cls, steps: list[str], info: ValidationInfo) -> list[str]:
        kind = info.data.get("kind")
        if kind == "milestone" and not steps:
            raise ValueError("a milestone key result needs its milestones")
        if kind != "milestone" and steps:
            raise ValueError("milestones are for kind milestone only")
        return steps

    @field_validator("upper_bound")
    @classmethod
    def _bounds(cls, high: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("lower_bound")
        if info.data.get("direction") == "stay_within":
            if low is None or high is None:
                raise ValueError("direction stay_within needs lower_bound and upper_bound")
            if low > high:
                raise ValueError("upper_bound must not lie below lower_bound")
        elif low is not None or high is not None:
            raise ValueError("lower_bound and upper_bound are for direction stay_within only")
        return high

    @field_validator("baseline")
    @classmethod
    def _baseline(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("kind")
        if kind in ("boolean", "milestone"):
            if value not in (None, 0.0):
                raise ValueError(f"a {kind} key result starts at 0")
            return 0.0
        if value is None and info.data.get("direction") != "stay_within":
            raise ValueError("baseline is required")
        return value

    @field_validator("target")
    @classmethod
    def _target(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind, direction = info.data.get("kind"), info.data.get("direction")
        if kind in ("boolean", "milestone") and direction not in (None, "increase"):
            raise ValueError(f"a {kind} key result only increases")
        if kind == "boolean":
            if value not in (None, 1.0):
                raise ValueError("a boolean key result's target is 1")
            return 1.0
        if kind == "milestone":
            steps = float(len(info.data.get("milestones") or ()))
            if value is not None and value != steps:
                raise ValueError("a milestone key result's target is its number of milestones")
            return steps
        baseline = info.data.get("baseline")
        if value is None:
            if direction != "stay_within":
                raise ValueError("target is required")
            return value
        if baseline is not None and value == baseline:
            raise ValueError("target must differ from baseline")
        if baseline is not None and direction == "increase" and value < baseline:
            raise ValueError("direction increase needs a target above the baseline")
        if baseline is not None and direction == "decrease" and value > baseline:
            raise ValueError("direction decrease needs a target below the baseline")
        return value

    @field_validator("plan")
    @classmethod
    def _plan(cls, plan: list[PlanPoint]) -> list[PlanPoint]:
        _plan_dates(plan)
        return plan

    @field_validator("currency")
    @classmethod
    def _currency(cls, code: str, info: ValidationInfo) -> str:
        if code and info.data.get("kind") != "currency":
            raise ValueError("currency is for kind currency only")
        return code

    @model_validator(mode="after")
    def _percentages(self) -> KeyResultCreate:
        if self.kind == "percentage":
            for field in ("baseline", "target", "lower_bound", "upper_bound"):
                value = getattr(self, field)
                if value is not None and value > PERCENT_MAX:
                    raise ValueError(f"{field} of a percentage key result must be 0..{PERCENT_MAX}")
        return self

    def proto_fields(self) -> dict[str, Any]:
        """Keyword arguments of CreateKeyResultRequest / NewKeyResult (enums as numbers)."""
        out = self.model_dump(exclude={"plan", "kind", "direction", "data_source"})
        out = {k: v for k, v in out.items() if v is not None}
        out["plan"] = [{"date": p.date.isoformat(), "progress": p.progress} for p in self.plan]
        out["kind"] = enum_number(pb.KeyResultKind.DESCRIPTOR, self.kind)
        if self.direction is not None:
            out["direction"] = enum_number(pb.Direction.DESCRIPTOR, self.direction)
        out["data_source"] = enum_number(pb.DataSource.DESCRIPTOR, self.data_source)
        return out


class RiskAssessment(ResponseModel):
    status: RiskStatus
    progress: float
    expected_progress: float
    expected_value: float
    shortfall: float
    behind_streak: int
    rule_version: int = Field(
        default=0,
        description="the risk rules version (GET /risk-rules/versions/{version}) that made "
        "this assessment; 0 before the first check-in",
    )


class KeyResultUpdate(RequestModel):
    """Draft objectives only; only the fields sent change (``milestones`` / ``plan``
    replace the whole list)."""

    title: Title | None = None
    owner_id: Id | None = None
    baseline: Amount | None = None
    target: Amount | None = None
    unit: Unit | None = None
    weight: Weight | None = None
    confidence: Confidence | None = None
    data_source: DataSource | None = None
    milestones: Steps | None = None
    plan: Annotated[list[PlanPoint], Field(max_length=MAX_PLAN_POINTS)] | None = None
    lower_bound: Amount | None = None
    upper_bound: Amount | None = None

    @field_validator("target")
    @classmethod
    def _target(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and value == info.data.get("baseline"):
            raise ValueError("target must differ from baseline")
        return value

    @field_validator("upper_bound")
    @classmethod
    def _bounds(cls, high: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("lower_bound")
        if low is not None and high is not None and low > high:
            raise ValueError("upper_bound must not lie below lower_bound")
        return high

    @field_validator("plan")
    @classmethod
    def _plan(cls, plan: list[PlanPoint] | None) -> list[PlanPoint] | None:
        _plan_dates(plan)
        return plan


class KeyResult(ResponseModel):
    id: str
    objective_id: str
    cycle_id: str
    title: str
    owner_id: str
    department_id: str
    baseline: float
    target: float
    unit: str
    current_value: float
    risk: RiskAssessment | None
    created_at: str
    kind: KeyResultKindOut = "unspecified"
    direction: DirectionOut = "unspecified"
    weight: int = 0
    confidence: int = 0
    data_source: DataSourceOut = "unspecified"
    milestones: list[str] = Field(default_factory=list)
    plan: list[PlanPointOut] = Field(default_factory=list)
    score: float = 0.0
    currency: str = ""
    lower_bound: float = 0.0
    upper_bound: float = 0.0
    last_check_in_week: str = ""
    self_score: float | None = None
    updated_at: str = ""
    revision: int = 0
    objective_status: ObjectiveStatusOut = "unspecified"


class SelfScore(RequestModel):
    self_score: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = Field(
        description="the owner's own score 0..1 (closing phase)"
    )
    note: Text = ""


class RevisionCreate(RequestModel):
    new_target: Amount
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE),
        HumanText(multiline=True),
    ]


class Revision(ResponseModel):
    id: str
    key_result_id: str
    objective_id: str
    cycle_id: str
    owner_id: str
    status: ApprovalStatusOut
    old_target: float
    new_target: float
    reason: str
    approval_id: str
    requested_by: str
    requested_at: str
    decided_by: str
    decided_at: str
    comment: str


class EscalationNotice(BaseModel):
    """One notification an escalation sent (docs/workflows.md, ``kr-escalation/<kr>``)."""

    model_config = ConfigDict(extra="allow")

    rung: str = Field(
        description='"warning", "blocker", "skip_level", "hr" or "recovered" (docs/workflows.md)'
    )
    recipient_id: str = Field(description="employee id")
    role: str = Field(
        description='"owner", "manager" (the owner\'s direct manager), "blocking_head", '
        '"skip_level" (the manager\'s manager) or "hr"'
    )
    at: str = Field(description="when the workflow sent it, RFC 3339 UTC")
    key: str = Field(description="delivery key: the inbox item's key and the e-mail Message-ID")


class EscalationState(BaseModel):
    """The ``state`` query of the ``kr-escalation/<key_result_id>`` workflow."""

    model_config = ConfigDict(extra="allow")

    key_result_id: str
    level: int = Field(description="0 none, 1 warning, 2 red, 3 coordination, 4 skip_level, 5 hr")
    level_name: str
    status: str = Field(description='"active", "resolved" or "cycle_ended"')
    at_risk_weeks: list[str]
    told: list[EscalationNotice] = Field(
        default_factory=list,
        description="who was told what and when (one inbox item + e-mail per entry)",
    )
