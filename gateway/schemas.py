"""Request and response bodies of the REST API.

Field names mirror the protobuf messages; enums are short lower-case strings ("open", "at_risk");
ids are strings. Request models do all the input checks a client can get wrong (required
fields, non-empty names, finite non-negative numbers, ISO dates and weeks) so bad input is a
422 ``validation_error`` before any service is called.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Annotated, Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from gateway.convert import enum_number
from stride.goals.v1 import goals_pb2 as pb
from workflows.org_sync import SyncCounts

# -- shared field types ---------------------------------------------------------------------

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
OptionalId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]
# Finite and ≥ 0; strict, so "12" (a string) or true are rejected rather than coerced.
Amount = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Confidence = Annotated[int, Field(strict=True, ge=0, le=10)]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


def _week(value: str) -> str:
    m = _WEEK.match(value)
    if m is None:
        raise ValueError('week must look like "2026-W48"')
    try:
        dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError as exc:
        raise ValueError(f"{value} is not an ISO week") from exc
    return value


def _time_zone(value: str) -> str:
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
    return value


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=320), AfterValidator(_email)
]
Week = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_week)]
TimeZone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_time_zone)
]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


T = TypeVar("T")


class Page(ResponseModel, Generic[T]):
    items: list[T]
    # Empty when this page is the last one; pass it back as page_token otherwise.
    next_page_token: str = ""


# -- identity -------------------------------------------------------------------------------


class DepartmentCreate(RequestModel):
    name: Name
    parent_id: OptionalId = ""
    head_id: OptionalId = Field(default="", description="employee id of the department head")
    stride_enabled: bool | None = Field(
        default=None, description="pilot rollout: Stride is on for its people (default true)"
    )


class DepartmentUpdate(RequestModel):
    """Only the fields sent change."""

    name: Name | None = None
    parent_id: OptionalId | None = Field(default=None, description='"" makes it top-level')
    head_id: OptionalId | None = Field(default=None, description='"" removes the head')
    stride_enabled: bool | None = None


class Department(ResponseModel):
    id: str
    name: str
    parent_id: str
    created_at: str
    head_id: str = ""
    stride_enabled: bool = True


GrantedRole = Literal["hr", "admin", "executive"]
Roles = Annotated[list[GrantedRole], Field(max_length=3)]


class EmployeeCreate(RequestModel):
    employee_number: Name
    name: Name
    email: Email
    department_id: Id
    manager_id: OptionalId = ""
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    roles: Roles = Field(default_factory=list, description="granted roles; admin: admins only")


class EmployeeUpdate(RequestModel):
    """Only the fields sent change."""

    name: Name | None = None
    email: Email | None = None
    department_id: Id | None = None
    manager_id: OptionalId | None = Field(default=None, description='"" removes the manager')
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    roles: Roles | None = Field(default=None, description="replaces the granted roles")
    status: Literal["active", "left"] | None = None


class Employee(ResponseModel):
    id: str
    employee_number: str
    name: str
    email: str
    department_id: str
    manager_id: str
    status: Literal["unspecified", "active", "left"]
    created_at: str
    title: str = ""
    roles: list[str] = Field(default_factory=list)
    is_manager: bool = False


# -- goals ----------------------------------------------------------------------------------

CyclePhase = Literal["unspecified", "planning", "approval", "execution", "closing", "archived"]
Level = Literal["company", "department", "team", "individual"]
ObjectiveStatus = Literal["draft", "pending_approval", "approved", "closed"]
VisibilityName = Literal["restricted", "public"]
KeyResultKind = Literal["number", "percentage", "currency", "boolean", "milestone"]
Direction = Literal["increase", "decrease", "stay_within"]
DataSource = Literal["manual", "telemetry"]
ApprovalStatus = Literal["pending", "approved", "rejected"]
RiskStatus = Literal["unspecified", "no_data", "on_track", "behind", "at_risk"]

Weight = Annotated[int, Field(strict=True, ge=0, le=100)]
Share = Annotated[float, Field(strict=False, ge=0, le=1, allow_inf_nan=False)]
Project = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^([A-Z]{3})?$")]
Milestone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Largest lists a client may send at once (a key result's milestones, an objective's KRs...).
MAX_KEY_RESULTS = 20
MAX_MILESTONES = 50
MAX_PLAN_POINTS = 60
MAX_BULK_CHECK_INS = 100
Steps = Annotated[list[Milestone], Field(min_length=1, max_length=MAX_MILESTONES)]


def _unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{what} {v!r} appears twice")
        seen.add(v)


class CycleCreate(RequestModel):
    name: Name
    start_date: dt.date = Field(description="ISO date YYYY-MM-DD, inclusive")
    end_date: dt.date = Field(description="ISO date YYYY-MM-DD, inclusive")
    time_zone: TimeZone = Field(default="", description="IANA zone; the service default if empty")
    planning_deadline: dt.date | None = Field(
        default=None, description="last day to submit objectives (default start_date + 7 days)"
    )
    approval_deadline: dt.date | None = Field(
        default=None, description="last day for managers to approve (default start_date + 14)"
    )
    closing_deadline: dt.date | None = Field(
        default=None, description="last day of the self-score window (default end_date + 7)"
    )

    @field_validator("end_date")
    @classmethod
    def _ordered(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start_date")
        if start is not None and end < start:
            raise ValueError("end_date must not be before start_date")
        return end

    @field_validator("planning_deadline", "approval_deadline")
    @classmethod
    def _within(cls, day: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start, end = info.data.get("start_date"), info.data.get("end_date")
        if day is not None and start is not None and end is not None:
            if not start <= day <= end:
                raise ValueError(f"{info.field_name} must lie within the cycle")
        planning = info.data.get("planning_deadline")
        if info.field_name == "approval_deadline" and day and planning and day < planning:
            raise ValueError("approval_deadline must not be before planning_deadline")
        return day

    @field_validator("closing_deadline")
    @classmethod
    def _after_end(cls, day: dt.date | None, info: ValidationInfo) -> dt.date | None:
        end = info.data.get("end_date")
        if day is not None and end is not None and day < end:
            raise ValueError("closing_deadline must not be before end_date")
        return day


class Cycle(ResponseModel):
    id: str
    name: str
    start_date: str
    end_date: str
    time_zone: str
    status: Literal["unspecified", "open", "closed"]
    created_at: str
    phase: CyclePhase = "unspecified"
    planning_deadline: str = ""
    approval_deadline: str = ""
    closing_deadline: str = ""


class PlanPoint(RequestModel):
    date: dt.date = Field(description="by the end of this day (ISO date)...")
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

    title: Name
    owner_id: OptionalId = Field(default="", description="the objective's owner if empty")
    kind: KeyResultKind = "number"
    direction: Direction | None = Field(
        default=None, description="increase or decrease from baseline and target if omitted"
    )
    milestones: Annotated[list[Milestone], Field(max_length=MAX_MILESTONES)] = Field(
        default_factory=list, validate_default=True, description="ordered steps (milestone only)"
    )
    lower_bound: Amount | None = Field(default=None, description="stay_within only")
    upper_bound: Amount | None = Field(
        default=None, validate_default=True, description="stay_within only"
    )
    baseline: Amount | None = Field(default=None, validate_default=True)
    target: Amount | None = Field(default=None, validate_default=True)
    unit: Unit = ""
    weight: Weight | None = Field(default=None, description="0..100; an objective's KRs total 100")
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


class ObjectiveCreate(RequestModel):
    cycle_id: Id
    title: Name
    description: Text = ""
    owner_id: Id
    department_id: OptionalId = Field(default="", description="the owner's department if empty")
    level: Level = "individual"
    visibility: VisibilityName = Field(
        default="restricted",
        description="restricted: owner, managers, department heads, HR, admin, executives; "
        "public: everyone",
    )
    parent_id: OptionalId = Field(default="", description="the objective this one aligns to")
    project: Project = ""
    start_date: dt.date | None = Field(default=None, description="the cycle's if omitted")
    end_date: dt.date | None = Field(default=None, description="the cycle's if omitted")
    key_results: Annotated[list[KeyResultCreate], Field(max_length=MAX_KEY_RESULTS)] = Field(
        default_factory=list,
        description="created with the objective (all or nothing); their weights must total 100 "
        "(omit every weight to split 100 evenly)",
    )

    @field_validator("end_date")
    @classmethod
    def _dates(cls, end: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start_date")
        if start and end and end < start:
            raise ValueError("end_date must not be before start_date")
        return end

    @field_validator("key_results")
    @classmethod
    def _weights(cls, krs: list[KeyResultCreate]) -> list[KeyResultCreate]:
        if not krs:
            return krs
        given = [k.weight for k in krs if k.weight is not None]
        if not given:
            share, rest = divmod(100, len(krs))
            for i, k in enumerate(krs):
                k.weight = share + (1 if i < rest else 0)
        elif len(given) != len(krs):
            raise ValueError("give every key result a weight, or none (split evenly)")
        elif sum(given) != 100:
            raise ValueError(f"the key results' weights total {sum(given)}, not 100")
        return krs


class ObjectiveUpdate(RequestModel):
    """Draft objectives only; only the fields sent change."""

    title: Name | None = None
    description: Text | None = None
    visibility: VisibilityName | None = None
    parent_id: OptionalId | None = Field(default=None, description='"" removes the alignment')
    project: Project | None = None
    level: Level | None = None


class Objective(ResponseModel):
    id: str
    cycle_id: str
    title: str
    description: str
    owner_id: str
    department_id: str
    created_at: str
    level: Literal["unspecified", Level] = "unspecified"
    status: Literal["unspecified", ObjectiveStatus] = "unspecified"
    visibility: Literal["unspecified", VisibilityName] = "unspecified"
    parent_id: str = ""
    project: str = ""
    start_date: str = ""
    end_date: str = ""
    score: float = 0.0
    key_result_count: int = 0
    weight_total: int = 0
    updated_at: str = ""


class RiskAssessment(ResponseModel):
    status: RiskStatus
    progress: float
    expected_progress: float
    expected_value: float
    shortfall: float
    behind_streak: int


class KeyResultUpdate(RequestModel):
    """Draft objectives only; only the fields sent change (``milestones`` / ``plan``
    replace the whole list)."""

    title: Name | None = None
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
    kind: Literal["unspecified", KeyResultKind] = "unspecified"
    direction: Literal["unspecified", Direction] = "unspecified"
    weight: int = 0
    confidence: int = 0
    data_source: Literal["unspecified", DataSource] = "unspecified"
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
    objective_status: Literal["unspecified", ObjectiveStatus] = "unspecified"


class WeightsUpdate(RequestModel):
    weights: dict[Id, Weight] = Field(
        description="key result id → weight; name every key result of the objective, total 100"
    )

    @field_validator("weights")
    @classmethod
    def _total(cls, weights: dict[str, int]) -> dict[str, int]:
        if not weights or len(weights) > MAX_KEY_RESULTS:
            raise ValueError(f"name between 1 and {MAX_KEY_RESULTS} key results")
        if sum(weights.values()) != 100:
            raise ValueError(f"the weights total {sum(weights.values())}, not 100")
        return weights


class SelfScore(RequestModel):
    self_score: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = Field(
        description="the owner's own score 0..1 (closing phase)"
    )
    note: Text = ""


class Blocker(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    department_id: OptionalId = Field(default="", description="the department whose help is needed")


class ChecklistAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: Id
    checked: Annotated[bool, Field(strict=True)]


class CheckInCreate(RequestModel):
    value: Amount = Field(description="boolean: 0 or 1; milestone: the number of steps completed")
    confidence: Confidence = Field(description="0 (no confidence) to 10 (certain)")
    note: Text = ""
    week: Week | None = Field(
        default=None, description='ISO week "YYYY-Www"; the current week if omitted'
    )
    blockers: Annotated[list[Blocker], Field(max_length=20)] = Field(default_factory=list)
    answers: Annotated[list[ChecklistAnswer], Field(max_length=100)] = Field(
        default_factory=list, description="answers to the department's checklist"
    )

    @field_validator("answers")
    @classmethod
    def _distinct(cls, answers: list[ChecklistAnswer]) -> list[ChecklistAnswer]:
        _unique([a.item_id for a in answers], "checklist item")
        return answers

    def proto_fields(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "confidence": self.confidence,
            "note": self.note,
            "week": self.week or "",
            "blockers": [b.model_dump() for b in self.blockers],
            "answers": [a.model_dump() for a in self.answers],
        }


class BulkCheckInEntry(CheckInCreate):
    key_result_id: Id


class BulkCheckIn(RequestModel):
    """The phone screen's one request: check-ins on several of one person's key results,
    all recorded or none."""

    check_ins: Annotated[list[BulkCheckInEntry], Field(min_length=1, max_length=MAX_BULK_CHECK_INS)]
    week: Week | None = Field(default=None, description="default week of entries without one")
    owner_id: OptionalId = Field(
        default="", description="whose key results; the caller if empty (others: admin only)"
    )

    @field_validator("check_ins")
    @classmethod
    def _distinct(cls, entries: list[BulkCheckInEntry]) -> list[BulkCheckInEntry]:
        _unique([e.key_result_id for e in entries], "key result")
        return entries


class BlockerOut(ResponseModel):
    text: str
    department_id: str


class ChecklistAnswerOut(ResponseModel):
    item_id: str
    checked: bool


class CheckIn(ResponseModel):
    id: str
    key_result_id: str
    week: str
    value: float
    confidence: int
    note: str
    recorded_at: str
    risk: RiskAssessment | None
    revision: int
    blockers: list[BlockerOut] = Field(default_factory=list)
    answers: list[ChecklistAnswerOut] = Field(default_factory=list)
    score: float = 0.0
    recorded_by: str = ""


class BulkCheckInResult(ResponseModel):
    check_ins: list[CheckIn]


ItemId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ItemId = Field(description='stable id, e.g. "inspection-records"')
    label_zh: Label
    label_en: Label


class ChecklistUpdate(RequestModel):
    items: Annotated[list[ChecklistItem], Field(max_length=50)] = Field(
        description="replaces the whole checklist (empty: no checklist)"
    )

    @field_validator("items")
    @classmethod
    def _distinct(cls, items: list[ChecklistItem]) -> list[ChecklistItem]:
        _unique([i.id for i in items], "item id")
        return items


class ChecklistItemOut(ResponseModel):
    id: str
    label_zh: str
    label_en: str


class Checklist(ResponseModel):
    department_id: str
    items: list[ChecklistItemOut]
    updated_at: str


class ObjectiveCopy(RequestModel):
    source_cycle_id: Id
    target_cycle_id: Id
    objective_ids: Annotated[list[Id], Field(max_length=100)] = Field(
        default_factory=list, description="which to copy; all of the owner's if empty"
    )
    owner_id: OptionalId = Field(
        default="", description="whose objectives; the caller if empty (others: admin only)"
    )

    @field_validator("target_cycle_id")
    @classmethod
    def _other_cycle(cls, target: str, info: ValidationInfo) -> str:
        if target == info.data.get("source_cycle_id"):
            raise ValueError("source and target cycle must differ")
        return target

    @field_validator("objective_ids")
    @classmethod
    def _distinct(cls, ids: list[str]) -> list[str]:
        _unique(ids, "objective")
        return ids


class ObjectiveCopyResult(ResponseModel):
    objectives: list[Objective]
    key_results: list[KeyResult]


class PlanSubmit(RequestModel):
    objective_ids: Annotated[list[Id], Field(max_length=100)] = Field(
        default_factory=list, description="which drafts; all of the employee's if empty"
    )
    employee_id: OptionalId = Field(
        default="", description="whose plan; the caller if empty (others: admin only)"
    )

    @field_validator("objective_ids")
    @classmethod
    def _distinct(cls, ids: list[str]) -> list[str]:
        _unique(ids, "objective")
        return ids


class Approval(ResponseModel):
    id: str
    kind: Literal["unspecified", "plan", "revision"]
    status: Literal["unspecified", ApprovalStatus]
    cycle_id: str
    employee_id: str
    department_id: str
    objective_ids: list[str]
    revision_id: str
    approver_ids: list[str]
    escalated: bool
    workflow_id: str
    decided_by: str
    comment: str
    created_at: str
    decided_at: str
    overridden: bool


class RevisionCreate(RequestModel):
    new_target: Amount
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Revision(ResponseModel):
    id: str
    key_result_id: str
    objective_id: str
    cycle_id: str
    owner_id: str
    status: Literal["unspecified", "pending", "approved", "rejected"]
    old_target: float
    new_target: float
    reason: str
    approval_id: str
    requested_by: str
    requested_at: str
    decided_by: str
    decided_at: str
    comment: str


class ObjectiveScore(ResponseModel):
    objective_id: str
    title: str
    owner_id: str
    department_id: str
    level: Literal["unspecified", Level]
    score: float
    aligned: bool


class PersonScore(ResponseModel):
    employee_id: str
    score: float
    key_result_count: int
    self_score: float | None = None


class DepartmentScore(ResponseModel):
    department_id: str
    score: float
    key_result_count: int
    objective_count: int
    alignment: float


class Scores(ResponseModel):
    cycle_id: str
    objectives: list[ObjectiveScore]
    people: list[PersonScore]
    departments: list[DepartmentScore]
    alignment: float = Field(description="share of non-company objectives aligned to a parent")
    aligned_count: int
    objective_count: int


class Participation(ResponseModel):
    employee_id: str
    draft_objectives: int
    pending_objectives: int
    approved_objectives: int
    key_results: int
    checked_in: int
    at_risk: int


class ParticipationReport(ResponseModel):
    cycle_id: str
    week: str
    people: list[Participation]


# -- workflows ------------------------------------------------------------------------------


class EscalationState(BaseModel):
    """The ``state`` query of the ``kr-escalation/<key_result_id>`` workflow."""

    model_config = ConfigDict(extra="allow")

    key_result_id: str
    level: int = Field(description="0 none, 1 warning, 2 red, 3 coordination, 4 skip_level, 5 hr")
    level_name: str
    status: str = Field(description='"active", "resolved" or "cycle_ended"')
    at_risk_weeks: list[str]


# -- sign-in and credentials ----------------------------------------------------------------

Secret = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class LoginRequest(RequestModel):
    login: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)
    ] = Field(description="employee number or email")
    password: Secret


class RefreshRequest(RequestModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class PasswordChange(RequestModel):
    current_password: Secret
    new_password: Secret


class PasswordReset(RequestModel):
    new_password: Secret | None = Field(
        default=None, description="omit to have a temporary password generated (shown once)"
    )


class PasswordResetResult(ResponseModel):
    employee_id: str
    must_change_password: bool
    temporary_password: str | None = Field(
        default=None, description="only when generated; shown once"
    )


class Me(ResponseModel):
    kind: Literal["person", "api_key"]
    id: str
    name: str
    employee_number: str = ""
    department_id: str = ""
    roles: list[str] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)
    must_change_password: bool = False


class Tokens(ResponseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str
    refresh_token_expires_at: str
    must_change_password: bool = Field(
        description="the access token only allows POST /auth/password, GET /auth/me and logout"
    )
    principal: Me


class ApiKeyCreate(RequestModel):
    name: Name
    scopes: Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=16)]


class ApiKey(ResponseModel):
    id: str
    name: str
    scopes: list[str]
    created_by: str
    created_at: str
    revoked_at: str
    last_used_at: str
    prefix: str


class ApiKeyCreated(ResponseModel):
    api_key: ApiKey
    key: str = Field(description="the secret; shown only in this response")


# -- audit ----------------------------------------------------------------------------------


class AuditEntry(ResponseModel):
    seq: int
    occurred_at: str
    actor: str
    action: str
    resource_type: str
    resource_id: str
    request_id: str
    trace_id: str
    before_digest: str
    after_digest: str
    service: str
    prev_hash: str
    hash: str
    detail: str = ""


class AuditVerification(ResponseModel):
    ok: bool
    rows_checked: int
    first_bad_seq: int
    reason: str


# -- org sync and invitations --------------------------------------------------------------

OrgSyncSource = Literal["dingtalk", "json", "file"]


class OrgSyncStart(RequestModel):
    source: OrgSyncSource
    dry_run: bool = False


class OrgSyncStarted(ResponseModel):
    workflow_id: str
    run_id: str = Field(description="Temporal run id of the workflow execution")
    source: str
    dry_run: bool


class OrgSyncRow(ResponseModel):
    row: int
    kind: str
    key: str
    action: str
    reason_code: str
    reason: str
    changed_fields: list[str]


class OrgSyncRun(ResponseModel):
    run_id: str
    source: str
    dry_run: bool
    status: str
    # The counts are defined once, where the workflow reports them.
    counts: SyncCounts | None
    batch_count: int
    batches_applied: int
    operation_count: int
    planned_at: str
    finished_at: str
    rows: list[OrgSyncRow] = Field(
        default_factory=list, description="every row that is not unchanged (reports only)"
    )


class OrgSyncRuns(ResponseModel):
    items: list[OrgSyncRun]


class InvitationRequest(RequestModel):
    employee_ids: list[Id] = Field(default_factory=list, max_length=1000)
    all_without_password: bool = False


class IssuedInvitation(ResponseModel):
    employee_id: str
    employee_number: str
    name: str
    department_id: str
    department_name: str
    initial_password: str


class SkippedInvitation(ResponseModel):
    employee_id: str
    reason: str


class Invitations(ResponseModel):
    issued: list[IssuedInvitation]
    skipped: list[SkippedInvitation]
    remaining: int = Field(description="people without a password left for the next call")


# -- errors and health ----------------------------------------------------------------------


class FieldError(BaseModel):
    loc: list[str | int]
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, served as application/problem+json."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    request_id: str | None = None
    errors: list[FieldError] | None = None


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str]
