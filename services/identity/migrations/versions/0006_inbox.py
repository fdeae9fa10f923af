"""inbox items (in-app notifications, idempotent by key)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(400), nullable=False, unique=True),
        sa.Column("recipient_id", sa.String(36), sa.ForeignKey("employees.id"), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("title_zh", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("body_zh", sa.Text, nullable=False),
        sa.Column("body_en", sa.Text, nullable=False),
        sa.Column("link", sa.String(400), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_inbox_items_recipient_created", "inbox_items", ["recipient_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_items_recipient_created", table_name="inbox_items")
    op.drop_table("inbox_items")
