"""Blockers addressed to a department: ``blockers``, one row per check-in blocker that names
a department (written with the check-in), open until the department resolves it.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blockers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("department_id", sa.String(36), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("key_result_id", sa.String(36), nullable=False),
        sa.Column("check_in_id", sa.String(36), nullable=False),
        sa.Column("week", sa.String(8), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False, server_default=""),
        sa.Column("from_department_id", sa.String(36), nullable=False, server_default=""),
        sa.Column("cycle_id", sa.String(36), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(80), nullable=False, server_default=""),
    )
    op.create_index("ix_blockers_department_open", "blockers", ["department_id", "resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_blockers_department_open", "blockers")
    op.drop_table("blockers")
