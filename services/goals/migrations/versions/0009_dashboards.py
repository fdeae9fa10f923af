"""Dashboard read models: per department and cycle figures, check-ins per department and week
(services/goals/dashboards.py keeps them from the event stream).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_departments",
        sa.Column("cycle_id", sa.String(36), primary_key=True),
        sa.Column("department_id", sa.String(36), primary_key=True),
        sa.Column("key_results", sa.Integer, nullable=False),
        sa.Column("score_sum", sa.Float, nullable=False),
        sa.Column("completed", sa.Integer, nullable=False),
        sa.Column("score_bands", sa.JSON, nullable=False),
        sa.Column("behind", sa.Integer, nullable=False),
        sa.Column("at_risk", sa.Integer, nullable=False),
        sa.Column("stale", sa.Integer, nullable=False),
        sa.Column("objectives", sa.Integer, nullable=False),
        sa.Column("alignable_objectives", sa.Integer, nullable=False),
        sa.Column("aligned_objectives", sa.Integer, nullable=False),
    )
    op.create_table(
        "dashboard_weeks",
        sa.Column("cycle_id", sa.String(36), primary_key=True),
        sa.Column("department_id", sa.String(36), primary_key=True),
        sa.Column("week", sa.String(8), primary_key=True),
        sa.Column("check_ins", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dashboard_weeks")
    op.drop_table("dashboard_departments")
