"""Performance archive and calibration: archive_records, calibration_sessions, calibration_changes

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("employee_id", sa.String(36), nullable=False),
        sa.Column("cycle_id", sa.String(36), nullable=False),
        sa.Column("department_id", sa.String(36), nullable=False),
        sa.Column("manager_id", sa.String(36), nullable=False),
        sa.Column("cycle_start", sa.Date, nullable=False),
        sa.Column("cycle_end", sa.Date, nullable=False),
        sa.Column("okr_score", sa.Float, nullable=True),
        sa.Column("self_rating", sa.String(1), nullable=False),
        sa.Column("self_comment", sa.Text, nullable=False),
        sa.Column("manager_rating", sa.String(1), nullable=False),
        sa.Column("manager_comment", sa.Text, nullable=False),
        sa.Column("rated_by", sa.String(36), nullable=False),
        sa.Column("feedback_360", sa.JSON, nullable=False),
        sa.Column("external_metrics", sa.JSON, nullable=False),
        sa.Column("final_rating", sa.String(1), nullable=False),
        sa.Column("potential", sa.String(8), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("employee_id", "cycle_id", name="uq_archive_employee_cycle"),
    )
    op.create_index("ix_archive_cycle_department", "archive_records", ["cycle_id", "department_id"])
    op.create_table(
        "calibration_sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("department_id", sa.String(36), nullable=False),
        sa.Column("cycle_id", sa.String(36), nullable=False),
        sa.Column("guidance", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("department_id", "cycle_id", name="uq_calibration_department_cycle"),
    )
    op.create_table(
        "calibration_changes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("employee_id", sa.String(36), nullable=False),
        sa.Column("field", sa.String(16), nullable=False),
        sa.Column("old_value", sa.String(8), nullable=False),
        sa.Column("new_value", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_calibration_changes_session", "calibration_changes", ["session_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_calibration_changes_session", table_name="calibration_changes")
    op.drop_table("calibration_changes")
    op.drop_table("calibration_sessions")
    op.drop_index("ix_archive_cycle_department", table_name="archive_records")
    op.drop_table("archive_records")
