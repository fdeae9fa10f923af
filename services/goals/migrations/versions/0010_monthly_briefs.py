"""The month-end department brief: ``monthly_briefs`` (figures per month and department) and
``monthly_brief_documents`` (HTML and PDF per language).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monthly_briefs",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("department_id", sa.String(36), primary_key=True),
        sa.Column("department_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("figures_json", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "monthly_brief_documents",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("department_id", sa.String(36), primary_key=True),
        sa.Column("language", sa.String(8), primary_key=True),
        sa.Column("html", sa.Text, nullable=False, server_default=""),
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("monthly_brief_documents")
    op.drop_table("monthly_briefs")
