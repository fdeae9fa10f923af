"""org sync runs and batches

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
        "org_sync_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batch_count", sa.Integer, nullable=False),
        sa.Column("batches_applied", sa.Integer, nullable=False),
        sa.Column("operation_count", sa.Integer, nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("rows", sa.Text, nullable=False),
    )
    op.create_index("ix_org_sync_runs_created", "org_sync_runs", ["created_at"])
    op.create_index("ix_org_sync_runs_status", "org_sync_runs", ["status"])
    op.create_table(
        "org_sync_batches",
        sa.Column(
            "run_id", sa.String(36), sa.ForeignKey("org_sync_runs.id"), primary_key=True
        ),
        sa.Column("batch_no", sa.Integer, primary_key=True),
        sa.Column("operations", sa.Text, nullable=False),
        sa.Column("operation_count", sa.Integer, nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("org_sync_batches")
    op.drop_table("org_sync_runs")
