"""department IM robots, the organisation's holiday calendar, the notification policy

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "department_robots",
        sa.Column(
            "department_id", sa.String(36), sa.ForeignKey("departments.id"), primary_key=True
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("webhook_url", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False, server_default=""),
        sa.Column("language", sa.String(8), nullable=False, server_default="zh-CN"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "org_calendar_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_org_calendar_days_year", "org_calendar_days", ["year"])
    op.create_table(
        "notification_policy",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=False),
        sa.Column("quiet_end", sa.String(5), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_policy")
    op.drop_index("ix_org_calendar_days_year", table_name="org_calendar_days")
    op.drop_table("org_calendar_days")
    op.drop_table("department_robots")
