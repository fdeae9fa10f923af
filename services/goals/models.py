"""Goals tables (schema ``goals`` in PostgreSQL, goals.db in SQLite)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.common.outbox import outbox_table


class Base(DeclarativeBase):
    pass


class Cycle(Base):
    __tablename__ = "cycles"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    created_at: Mapped[datetime] = created_at_column()
    # planning | approval | execution | closing | archived
    phase: Mapped[str] = mapped_column(String(16), nullable=False, default="planning")
    planning_deadline: Mapped[date] = mapped_column(Date, nullable=False)
    approval_deadline: Mapped[date] = mapped_column(Date, nullable=False)
    closing_deadline: Mapped[date] = mapped_column(Date, nullable=False)
    # Created after its end date: backfilled, closed by hand only (docs/goals.md).
    backfill: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Objective(Base):
    __tablename__ = "objectives"
    __table_args__ = (
        Index("ix_objectives_cycle", "cycle_id"),
        Index("ix_objectives_cycle_owner", "cycle_id", "owner_id"),
        Index("ix_objectives_parent", "parent_id"),
        Index("ix_objectives_cycle_department", "cycle_id", "department_id"),
        # The order of objective lists (a page is read off the index, not sorted).
        Index("ix_objectives_cycle_created", "cycle_id", "created_at", "id"),
    )

    id: Mapped[str] = id_column()
    cycle_id: Mapped[str] = mapped_column(String(36), ForeignKey("cycles.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    # company | department | team | individual
    level: Mapped[str] = mapped_column(String(16), nullable=False, default="individual")
    # draft | pending_approval | approved | closed
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")
    # restricted | public
    visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="restricted")
    # No foreign key: a parent may be deleted or live in another cycle; checked in code.
    parent_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    project: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    updated_at: Mapped[datetime] = created_at_column()
    # A stretch objective: its target is beyond what is expected (talent tags count them).
    stretch: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class KeyResult(Base):
    __tablename__ = "key_results"
    __table_args__ = (
        Index("ix_key_results_objective", "objective_id"),
        Index("ix_key_results_cycle_owner", "cycle_id", "owner_id"),
        Index("ix_key_results_cycle_department", "cycle_id", "department_id"),
        # An at-risk page is read off the index in the list's order.
        Index("ix_key_results_cycle_risk", "cycle_id", "risk_status", "created_at", "id"),
    )

    id: Mapped[str] = id_column()
    objective_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("objectives.id"), nullable=False
    )
    cycle_id: Mapped[str] = mapped_column(String(36), ForeignKey("cycles.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    baseline: Mapped[float] = mapped_column(Float, nullable=False)
    target: Mapped[float] = mapped_column(Float, nullable=False)
    unit: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    current_value: Mapped[float] = mapped_column(Float, nullable=False)
    # Latest result of services.goals.risk.assess, kept for lists and dashboards.
    risk_status: Mapped[str] = mapped_column(String(16), nullable=False, default="no_data")
    risk_progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    risk_expected_progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    risk_expected_value: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    risk_shortfall: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    risk_behind_streak: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The risk rule set version (risk_rule_sets) that assessment used.
    risk_rule_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = created_at_column()
    # number | percentage | currency | boolean | milestone
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="number")
    # increase | decrease | stay_within
    direction: Mapped[str] = mapped_column(String(16), nullable=False, default="increase")
    weight: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    confidence: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    # manual | telemetry
    data_source: Mapped[str] = mapped_column(String(16), nullable=False, default="manual")
    milestones: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # [[ISO date, progress], ...]
    plan: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="")
    lower_bound: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    upper_bound: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    # services.goals.scoring.key_result_score, frozen when the cycle closes.
    score: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    self_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    self_score_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_check_in_week: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    updated_at: Mapped[datetime] = created_at_column()
    # The last ISO week the weekly risk sweep assessed (the owner was silent that week).
    last_swept_week: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    # Machine-fed (data_source telemetry; migration 0008): the binding and sequence of the
    # last value applied (older ones change nothing), whether its source is silent (risk
    # 'stale'), and when a machine value last added a history version (at most one a minute).
    machine_binding_id: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    machine_sequence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    machine_stale: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    machine_versioned_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class CheckInFields:
    """The columns a check-in and each of its versions share: defined once here, copied from
    a check-in to its version by :data:`VERSIONED_COLUMNS`."""

    week: Mapped[str] = mapped_column(String(8), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    confidence: Mapped[int] = mapped_column(Integer, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    risk_status: Mapped[str] = mapped_column(String(16), nullable=False)
    risk_progress: Mapped[float] = mapped_column(Float, nullable=False)
    risk_expected_progress: Mapped[float] = mapped_column(Float, nullable=False)
    risk_expected_value: Mapped[float] = mapped_column(Float, nullable=False)
    risk_shortfall: Mapped[float] = mapped_column(Float, nullable=False)
    risk_behind_streak: Mapped[int] = mapped_column(Integer, nullable=False)
    risk_rule_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    recorded_at: Mapped[datetime] = created_at_column()
    # [{"text": ..., "department_id": ...}]
    blockers: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    # [{"item_id": ..., "checked": bool}]
    answers: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    score: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    recorded_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")


class CheckIn(CheckInFields, Base):
    """The latest version of a key result's check-in of one ISO week."""

    __tablename__ = "check_ins"
    __table_args__ = (UniqueConstraint("key_result_id", "week", name="uq_check_ins_kr_week"),)

    id: Mapped[str] = id_column()
    key_result_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("key_results.id"), nullable=False
    )
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class CheckInVersion(CheckInFields, Base):
    """Every submitted version of a check-in (the history behind ``check_ins``)."""

    __tablename__ = "check_in_versions"
    __table_args__ = (Index("ix_check_in_versions_kr", "key_result_id", "week"),)

    check_in_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("check_ins.id"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_result_id: Mapped[str] = mapped_column(String(36), nullable=False)


KEY_RESULTS: Table = KeyResult.__table__  # type: ignore[assignment]
# The key result's columns of its risk assessment (services/goals/risk.py), written together.
RISK_COLUMNS = (
    "risk_status",
    "risk_progress",
    "risk_expected_progress",
    "risk_expected_value",
    "risk_shortfall",
    "risk_behind_streak",
    "risk_rule_version",
)
CHECK_INS: Table = CheckIn.__table__  # type: ignore[assignment]
CHECK_IN_VERSIONS: Table = CheckInVersion.__table__  # type: ignore[assignment]
CHECK_IN_COLUMNS: tuple[str, ...] = tuple(c.key for c in CHECK_INS.columns)
# What a version copies from its check-in: every shared column, plus the key result and the
# revision (``check_in_id`` is the check-in's id).
VERSIONED_COLUMNS: tuple[str, ...] = tuple(
    c.key for c in CHECK_IN_VERSIONS.columns if c.key != "check_in_id"
)


class DepartmentBlocker(Base):
    """A check-in blocker addressed to a department (written with the check-in that names it,
    only when it names one). Its id is derived from the check-in, the department and the text
    (:func:`services.goals.domain.blocker_id`), so re-submitting the week keeps one row."""

    __tablename__ = "blockers"
    __table_args__ = (Index("ix_blockers_department_open", "department_id", "resolved_at"),)

    id: Mapped[str] = id_column()
    department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    key_result_id: Mapped[str] = mapped_column(String(36), nullable=False)
    check_in_id: Mapped[str] = mapped_column(String(36), nullable=False)
    week: Mapped[str] = mapped_column(String(8), nullable=False)
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    from_department_id: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    cycle_id: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")


BLOCKERS: Table = DepartmentBlocker.__table__  # type: ignore[assignment]


class RiskRuleSet(Base):
    """One version of the risk rule (services.goals.risk_rules); the newest is in force.
    Versions are only added, never changed: assessments name the version they used."""

    __tablename__ = "risk_rule_sets"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    weeks: Mapped[int] = mapped_column(Integer, nullable=False)
    # [{"department_id": ..., "threshold": ..., "weeks": ...}]
    overrides: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()


class Checklist(Base):
    """A department's check-in checklist template."""

    __tablename__ = "checklists"

    department_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # [{"id": ..., "label_zh": ..., "label_en": ...}]
    items: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    updated_at: Mapped[datetime] = created_at_column()


class Approval(Base):
    __tablename__ = "approvals"
    __table_args__ = (
        Index("ix_approvals_cycle_employee", "cycle_id", "employee_id"),
        # At most one pending plan approval per owner and cycle (race-proof).
        Index(
            "uq_approvals_pending_plan",
            "cycle_id",
            "employee_id",
            unique=True,
            postgresql_where=text("status = 'pending' AND kind = 'plan'"),
            sqlite_where=text("status = 'pending' AND kind = 'plan'"),
        ),
    )

    id: Mapped[str] = id_column()
    # plan | revision
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    # pending | approved | rejected
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    cycle_id: Mapped[str] = mapped_column(String(36), ForeignKey("cycles.id"), nullable=False)
    employee_id: Mapped[str] = mapped_column(String(36), nullable=False)
    department_id: Mapped[str] = mapped_column(String(36), nullable=False)
    objective_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    revision_id: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    escalated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    workflow_id: Mapped[str] = mapped_column(String(200), nullable=False)
    decided_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    overridden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ApprovalApprover(Base):
    """Who may decide an approval (the direct manager; the skip-level one once escalated)."""

    __tablename__ = "approval_approvers"
    __table_args__ = (Index("ix_approval_approvers_employee", "employee_id"),)

    approval_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("approvals.id"), primary_key=True
    )
    employee_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    added_at: Mapped[datetime] = created_at_column()


class Revision(Base):
    __tablename__ = "revisions"
    __table_args__ = (
        Index("ix_revisions_kr", "key_result_id"),
        # At most one pending revision per key result (race-proof).
        Index(
            "uq_revisions_pending",
            "key_result_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = id_column()
    key_result_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("key_results.id"), nullable=False
    )
    objective_id: Mapped[str] = mapped_column(String(36), nullable=False)
    cycle_id: Mapped[str] = mapped_column(String(36), nullable=False)
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # pending | approved | rejected
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    old_target: Mapped[float] = mapped_column(Float, nullable=False)
    new_target: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    approval_id: Mapped[str] = mapped_column(String(36), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    requested_at: Mapped[datetime] = created_at_column()
    decided_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")


OUTBOX = outbox_table(Base.metadata)


class DashboardDepartment(Base):
    """Read model: one department's figures in one cycle (services/goals/dashboards.py keeps
    it up to date from the goals event stream; rebuilt from scratch on demand). Key results
    and objectives count as in the cycle's scores (domain.in_scores)."""

    __tablename__ = "dashboard_departments"

    cycle_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    department_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_results: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    score_sum: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    completed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Key results by score: [0, .25), [.25, .5), [.5, .75), [.75, 1].
    score_bands: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    behind: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    at_risk: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    stale: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    objectives: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    alignable_objectives: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    aligned_objectives: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    red: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    weighted_score_sum: Mapped[float] = mapped_column(
        Float, nullable=False, default=0.0, server_default="0"
    )
    weight_sum: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class DashboardWeek(Base):
    """Read model: check-ins per department and ISO week of a cycle."""

    __tablename__ = "dashboard_weeks"

    cycle_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    department_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    week: Mapped[str] = mapped_column(String(8), primary_key=True)
    check_ins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
