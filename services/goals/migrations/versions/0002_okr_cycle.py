"""Cycle phases and deadlines; objective levels, status, visibility and alignment; key result
kinds, directions, weights, plan curves and scores; check-in blockers, checklist answers and
history; department checklists; revisions and approvals.

Existing rows get: open cycles in phase ``execution`` (closed ones ``archived``) with the
default deadlines; objectives ``draft`` (``closed`` in closed cycles), individual, restricted,
dated like their cycle; key results ``number``, ``increase`` (``decrease`` when the target is
below the baseline), the objective's 100 split equally, confidence of the latest check-in (5
without), score from the stored progress; one history row per existing check-in.

In SQLite the new date columns stay nullable (changing it would rebuild referenced tables);
the application always writes them.

Revision ID: 0002
Revises: 0001
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_RISK = (
    "risk_status",
    "risk_progress",
    "risk_expected_progress",
    "risk_expected_value",
    "risk_shortfall",
    "risk_behind_streak",
)
_CLAMPED_PROGRESS = (
    "CASE WHEN risk_status = 'no_data' OR risk_progress < 0 THEN 0 "
    "WHEN risk_progress > 1 THEN 1 ELSE risk_progress END"
)


def _json_list(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON, nullable=False, server_default="[]")


def _risk_columns() -> list[sa.Column]:
    return [
        sa.Column("risk_status", sa.String(16), nullable=False),
        sa.Column("risk_progress", sa.Float, nullable=False),
        sa.Column("risk_expected_progress", sa.Float, nullable=False),
        sa.Column("risk_expected_value", sa.Float, nullable=False),
        sa.Column("risk_shortfall", sa.Float, nullable=False),
        sa.Column("risk_behind_streak", sa.Integer, nullable=False),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"

    # --- cycles ---------------------------------------------------------------------------
    op.add_column(
        "cycles", sa.Column("phase", sa.String(16), nullable=False, server_default="planning")
    )
    op.add_column("cycles", sa.Column("planning_deadline", sa.Date, nullable=True))
    op.add_column("cycles", sa.Column("approval_deadline", sa.Date, nullable=True))
    op.add_column("cycles", sa.Column("closing_deadline", sa.Date, nullable=True))
    op.execute(
        "UPDATE cycles SET phase = CASE WHEN status = 'closed' THEN 'archived' ELSE 'execution' END"
    )
    cycles = sa.table(
        "cycles",
        sa.column("id", sa.String),
        sa.column("start_date", sa.Date),
        sa.column("end_date", sa.Date),
        sa.column("planning_deadline", sa.Date),
        sa.column("approval_deadline", sa.Date),
        sa.column("closing_deadline", sa.Date),
    )
    for cid, start, end in bind.execute(
        sa.select(cycles.c.id, cycles.c.start_date, cycles.c.end_date)
    ).all():
        bind.execute(
            cycles.update()
            .where(cycles.c.id == cid)
            .values(
                planning_deadline=start + timedelta(days=7),
                approval_deadline=start + timedelta(days=14),
                closing_deadline=end + timedelta(days=7),
            )
        )

    # --- objectives -----------------------------------------------------------------------
    op.add_column(
        "objectives", sa.Column("level", sa.String(16), nullable=False, server_default="individual")
    )
    op.add_column(
        "objectives", sa.Column("status", sa.String(20), nullable=False, server_default="draft")
    )
    op.add_column(
        "objectives",
        sa.Column("visibility", sa.String(16), nullable=False, server_default="restricted"),
    )
    op.add_column("objectives", sa.Column("parent_id", sa.String(36), nullable=True))
    op.add_column(
        "objectives", sa.Column("project", sa.String(200), nullable=False, server_default="")
    )
    op.add_column("objectives", sa.Column("start_date", sa.Date, nullable=True))
    op.add_column("objectives", sa.Column("end_date", sa.Date, nullable=True))
    op.add_column("objectives", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE objectives SET "
        "start_date = (SELECT c.start_date FROM cycles c WHERE c.id = objectives.cycle_id), "
        "end_date = (SELECT c.end_date FROM cycles c WHERE c.id = objectives.cycle_id), "
        "updated_at = created_at, "
        "status = CASE WHEN (SELECT c.status FROM cycles c WHERE c.id = objectives.cycle_id) "
        "= 'closed' THEN 'closed' ELSE 'draft' END"
    )
    op.create_index("ix_objectives_cycle_owner", "objectives", ["cycle_id", "owner_id"])
    op.create_index("ix_objectives_parent", "objectives", ["parent_id"])

    # --- key results ----------------------------------------------------------------------
    op.add_column(
        "key_results", sa.Column("kind", sa.String(16), nullable=False, server_default="number")
    )
    op.add_column(
        "key_results",
        sa.Column("direction", sa.String(16), nullable=False, server_default="increase"),
    )
    op.add_column(
        "key_results", sa.Column("weight", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(
        "key_results", sa.Column("confidence", sa.Integer, nullable=False, server_default="5")
    )
    op.add_column(
        "key_results",
        sa.Column("data_source", sa.String(16), nullable=False, server_default="manual"),
    )
    op.add_column("key_results", _json_list("milestones"))
    op.add_column("key_results", _json_list("plan"))
    op.add_column(
        "key_results", sa.Column("currency", sa.String(3), nullable=False, server_default="")
    )
    op.add_column(
        "key_results", sa.Column("lower_bound", sa.Float, nullable=False, server_default="0")
    )
    op.add_column(
        "key_results", sa.Column("upper_bound", sa.Float, nullable=False, server_default="0")
    )
    op.add_column("key_results", sa.Column("score", sa.Float, nullable=False, server_default="0"))
    op.add_column("key_results", sa.Column("self_score", sa.Float, nullable=True))
    op.add_column(
        "key_results", sa.Column("self_score_note", sa.Text, nullable=False, server_default="")
    )
    op.add_column(
        "key_results", sa.Column("revision", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(
        "key_results",
        sa.Column("last_check_in_week", sa.String(8), nullable=False, server_default=""),
    )
    op.add_column("key_results", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE key_results SET "
        "direction = CASE WHEN target < baseline THEN 'decrease' ELSE 'increase' END, "
        "confidence = COALESCE((SELECT c.confidence FROM check_ins c "
        "WHERE c.key_result_id = key_results.id ORDER BY c.week DESC LIMIT 1), 5), "
        "last_check_in_week = COALESCE((SELECT MAX(c.week) FROM check_ins c "
        "WHERE c.key_result_id = key_results.id), ''), "
        f"score = {_CLAMPED_PROGRESS}, "
        "updated_at = created_at"
    )
    krs = sa.table(
        "key_results",
        sa.column("id", sa.String),
        sa.column("objective_id", sa.String),
        sa.column("weight", sa.Integer),
        sa.column("created_at", sa.DateTime),
    )
    by_objective: dict[str, list[str]] = {}
    for kid, oid in bind.execute(
        sa.select(krs.c.id, krs.c.objective_id).order_by(krs.c.created_at, krs.c.id)
    ).all():
        by_objective.setdefault(oid, []).append(kid)
    for ids in by_objective.values():
        share, rest = divmod(100, len(ids))
        for i, kid in enumerate(ids):
            bind.execute(
                krs.update().where(krs.c.id == kid).values(weight=share + (1 if i < rest else 0))
            )
    op.create_index("ix_key_results_cycle_owner", "key_results", ["cycle_id", "owner_id"])

    # --- check-ins and their history ------------------------------------------------------
    op.add_column("check_ins", _json_list("blockers"))
    op.add_column("check_ins", _json_list("answers"))
    op.add_column("check_ins", sa.Column("score", sa.Float, nullable=False, server_default="0"))
    op.add_column(
        "check_ins", sa.Column("recorded_by", sa.String(80), nullable=False, server_default="")
    )
    op.execute(f"UPDATE check_ins SET score = {_CLAMPED_PROGRESS}")
    op.create_table(
        "check_in_versions",
        sa.Column("check_in_id", sa.String(36), sa.ForeignKey("check_ins.id"), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("key_result_id", sa.String(36), nullable=False),
        sa.Column("week", sa.String(8), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("confidence", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        *_risk_columns(),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _json_list("blockers"),
        _json_list("answers"),
        sa.Column("score", sa.Float, nullable=False, server_default="0"),
        sa.Column("recorded_by", sa.String(80), nullable=False, server_default=""),
    )
    op.create_index("ix_check_in_versions_kr", "check_in_versions", ["key_result_id", "week"])
    copied = (
        "check_in_id, revision, key_result_id, week, value, confidence, note, "
        + ", ".join(_RISK)
        + ", recorded_at, blockers, answers, score, recorded_by"
    )
    source = (
        "id, revision, key_result_id, week, value, confidence, note, "
        + ", ".join(_RISK)
        + ", recorded_at, blockers, answers, score, recorded_by"
    )
    op.execute(f"INSERT INTO check_in_versions ({copied}) SELECT {source} FROM check_ins")

    # --- checklists, approvals, revisions -------------------------------------------------
    op.create_table(
        "checklists",
        sa.Column("department_id", sa.String(36), primary_key=True),
        _json_list("items"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cycle_id", sa.String(36), sa.ForeignKey("cycles.id"), nullable=False),
        sa.Column("employee_id", sa.String(36), nullable=False),
        sa.Column("department_id", sa.String(36), nullable=False),
        _json_list("objective_ids"),
        sa.Column("revision_id", sa.String(36), nullable=False, server_default=""),
        sa.Column("escalated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=False, server_default=""),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overridden", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_approvals_cycle_employee", "approvals", ["cycle_id", "employee_id"])
    op.create_index(
        "uq_approvals_pending_plan",
        "approvals",
        ["cycle_id", "employee_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending' AND kind = 'plan'"),
        sqlite_where=sa.text("status = 'pending' AND kind = 'plan'"),
    )
    op.create_table(
        "approval_approvers",
        sa.Column("approval_id", sa.String(36), sa.ForeignKey("approvals.id"), primary_key=True),
        sa.Column("employee_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_approval_approvers_employee", "approval_approvers", ["employee_id"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("key_result_id", sa.String(36), sa.ForeignKey("key_results.id"), nullable=False),
        sa.Column("objective_id", sa.String(36), nullable=False),
        sa.Column("cycle_id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("old_target", sa.Float, nullable=False),
        sa.Column("new_target", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("approval_id", sa.String(36), nullable=False),
        sa.Column("requested_by", sa.String(80), nullable=False, server_default=""),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=False, server_default=""),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_revisions_kr", "revisions", ["key_result_id"])
    op.create_index(
        "uq_revisions_pending",
        "revisions",
        ["key_result_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )

    if postgres:  # SQLite would rebuild the referenced tables for this
        for table, columns in (
            ("cycles", ("planning_deadline", "approval_deadline", "closing_deadline")),
            ("objectives", ("start_date", "end_date", "updated_at")),
            ("key_results", ("updated_at",)),
        ):
            for column in columns:
                op.alter_column(table, column, nullable=False)


def downgrade() -> None:
    for table in ("revisions", "approval_approvers", "approvals", "checklists"):
        op.drop_table(table)
    op.drop_table("check_in_versions")
    for index in ("ix_key_results_cycle_owner",):
        op.drop_index(index, table_name="key_results")
    for index in ("ix_objectives_cycle_owner", "ix_objectives_parent"):
        op.drop_index(index, table_name="objectives")
    drops = {
        "check_ins": ("blockers", "answers", "score", "recorded_by"),
        "key_results": (
            "kind",
            "direction",
            "weight",
            "confidence",
            "data_source",
            "milestones",
            "plan",
            "currency",
            "lower_bound",
            "upper_bound",
            "score",
            "self_score",
            "self_score_note",
            "revision",
            "last_check_in_week",
            "updated_at",
        ),
        "objectives": (
            "level",
            "status",
            "visibility",
            "parent_id",
            "project",
            "start_date",
            "end_date",
            "updated_at",
        ),
        "cycles": ("phase", "planning_deadline", "approval_deadline", "closing_deadline"),
    }
    for table, columns in drops.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
