"""cycles, objectives, key results, check-ins, outbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from services.common.outbox import create_outbox_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


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
    op.create_table(
        "cycles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "objectives",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("cycle_id", sa.String(36), sa.ForeignKey("cycles.id"), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("department_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_objectives_cycle", "objectives", ["cycle_id"])
    op.create_table(
        "key_results",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("objective_id", sa.String(36), sa.ForeignKey("objectives.id"), nullable=False),
        sa.Column("cycle_id", sa.String(36), sa.ForeignKey("cycles.id"), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("department_id", sa.String(36), nullable=False),
        sa.Column("baseline", sa.Float, nullable=False),
        sa.Column("target", sa.Float, nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("current_value", sa.Float, nullable=False),
        *_risk_columns(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_key_results_objective", "key_results", ["objective_id"])
    op.create_table(
        "check_ins",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "key_result_id", sa.String(36), sa.ForeignKey("key_results.id"), nullable=False
        ),
        sa.Column("week", sa.String(8), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("confidence", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        *_risk_columns(),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key_result_id", "week", name="uq_check_ins_kr_week"),
    )
    create_outbox_table(op)


def downgrade() -> None:
    for table in ("outbox", "check_ins", "key_results", "objectives", "cycles"):
        op.drop_table(table)
