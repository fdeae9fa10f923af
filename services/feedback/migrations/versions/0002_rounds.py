"""360 rounds: templates, rounds, raters, answers, frozen results

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _round_id(primary_key: bool = False) -> sa.Column:
    return sa.Column(
        "round_id",
        sa.String(36),
        sa.ForeignKey("rounds.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "round_templates",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("questions", sa.JSON, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rounds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("cycle_id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("manager_id", sa.String(36), nullable=False),
        sa.Column("department_id", sa.String(36), nullable=False),
        sa.Column("template_id", sa.String(36), nullable=False),
        sa.Column("questions", sa.JSON, nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("nominations_due", sa.Date, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("cycle_id", "subject_id", name="uq_round_cycle_subject"),
    )
    op.create_index("ix_rounds_subject", "rounds", ["subject_id"])
    op.create_table(
        "round_raters",
        _round_id(primary_key=True),
        sa.Column("employee_id", sa.String(36), primary_key=True),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_round_raters_employee", "round_raters", ["employee_id", "status"])
    op.create_table(
        "round_answers",
        sa.Column("id", sa.String(36), primary_key=True),
        _round_id(),
        sa.Column("rater_id", sa.String(36), nullable=True),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.UniqueConstraint("round_id", "rater_id", "question_id", name="uq_round_answer"),
    )
    op.create_table(
        "round_results",
        _round_id(primary_key=True),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("round_results")
    op.drop_table("round_answers")
    op.drop_index("ix_round_raters_employee", table_name="round_raters")
    op.drop_table("round_raters")
    op.drop_index("ix_rounds_subject", table_name="rounds")
    op.drop_table("rounds")
    op.drop_table("round_templates")
