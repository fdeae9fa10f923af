"""Request and response bodies of the REST API.

Field names mirror the protobuf messages; enums are short lower-case strings ("open", "at_risk");
ids are strings. Request models do all the input checks a client can get wrong (required
fields, non-empty names, finite non-negative numbers, ISO dates and weeks) so bad input is a
422 ``validation_error`` before any service is called.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Generic, Literal, TypeVar
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


class CycleCreate(RequestModel):
    name: Name
    start_date: dt.date = Field(description="ISO date YYYY-MM-DD, inclusive")
    end_date: dt.date = Field(description="ISO date YYYY-MM-DD, inclusive")
    time_zone: TimeZone = Field(default="", description="IANA zone; the service default if empty")

    @field_validator("end_date")
    @classmethod
    def _ordered(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start_date")
        if start is not None and end < start:
            raise ValueError("end_date must not be before start_date")
        return end


class Cycle(ResponseModel):
    id: str
    name: str
    start_date: str
    end_date: str
    time_zone: str
    status: Literal["unspecified", "open", "closed"]
    created_at: str


class ObjectiveCreate(RequestModel):
    cycle_id: Id
    title: Name
    description: Text = ""
    owner_id: Id
    department_id: OptionalId = Field(default="", description="the owner's department if empty")


class Objective(ResponseModel):
    id: str
    cycle_id: str
    title: str
    description: str
    owner_id: str
    department_id: str
    created_at: str


RiskStatus = Literal["unspecified", "no_data", "on_track", "behind", "at_risk"]


class RiskAssessment(ResponseModel):
    status: RiskStatus
    progress: float
    expected_progress: float
    expected_value: float
    shortfall: float
    behind_streak: int


class KeyResultCreate(RequestModel):
    title: Name
    owner_id: OptionalId = Field(default="", description="the objective's owner if empty")
    baseline: Amount
    target: Amount
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] = ""


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


class CheckInCreate(RequestModel):
    value: Amount
    confidence: Confidence = Field(description="0 (no confidence) to 10 (certain)")
    note: Text = ""
    week: Week | None = Field(
        default=None, description='ISO week "YYYY-Www"; the current week if omitted'
    )


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


# -- org sync and invitations (#3) ---------------------------------------------------------

OrgSyncSource = Literal["dingtalk", "json", "file"]


class OrgSyncStart(RequestModel):
    source: OrgSyncSource
    dry_run: bool = False


class OrgSyncStarted(ResponseModel):
    workflow_id: str
    run_id: str = Field(description="Temporal run id of the workflow execution")
    source: str
    dry_run: bool


class OrgSyncCounts(ResponseModel):
    created: int
    updated: int
    moved: int
    deactivated: int
    unchanged: int
    rejected: int
    linked: int
    departments_created: int
    departments_updated: int
    departments_unchanged: int
    departments_rejected: int
    departments_linked: int


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
    counts: OrgSyncCounts | None
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
