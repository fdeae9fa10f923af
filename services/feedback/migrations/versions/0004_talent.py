"""Talent: high-potential suggestions, praise tags, accepted goal challenges

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (not batch copies): SQLite adds a column with a constant default in
    # place, and copying ``challenges`` would trip its messages' foreign key.
    op.add_column("feedback_items", sa.Column("tags", sa.JSON, nullable=False, server_default="[]"))
    op.add_column(
        "challenges", sa.Column("accepted", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_table(
        "talent_suggestions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("cycle_id", sa.String(36), nullable=False),
        sa.Column("employee_id", sa.String(36), nullable=False),
        sa.Column("department_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("cycles", sa.Integer, nullable=False),
        sa.Column("level", sa.Float, nullable=False),
        sa.Column("spread", sa.Float, nullable=False),
        sa.Column("stretch_objectives", sa.Integer, nullable=False),
        sa.Column("stretch_met", sa.Integer, nullable=False),
        sa.Column("improvement_praise", sa.Integer, nullable=False),
        sa.Column("accepted_challenges", sa.Integer, nullable=False),
        sa.Column("innovation_points", sa.Integer, nullable=False),
        sa.Column("final_rating", sa.String(1), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("cycle_id", "employee_id", name="uq_talent_suggestion"),
    )
    op.create_index(
        "ix_talent_suggestions_cycle",
        "talent_suggestions",
        ["cycle_id", "department_id", "status"],
    )


def downgrade() -> None:
    op.drop_index("ix_talent_suggestions_cycle", table_name="talent_suggestions")
    op.drop_table("talent_suggestions")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("accepted")
    with op.batch_alter_table("feedback_items") as batch:
        batch.drop_column("tags")

