"""Promotion reviews: promotion_cases, promotion_scores, promotion_objections, promotion_steps,
promotion_rules

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _created() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "promotion_cases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("candidate_id", sa.String(36), nullable=False),
        sa.Column("applicant_id", sa.String(36), nullable=False),
        sa.Column("manager_id", sa.String(36), nullable=False),
        sa.Column("current_grade", sa.String(16), nullable=False),
        sa.Column("target_grade", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("panel", sa.JSON, nullable=False),
        sa.Column("panel_round", sa.Integer, nullable=False),
        sa.Column("mean_score", sa.Float, nullable=False),
        sa.Column("publicity_end", sa.String(40), nullable=False),
        sa.Column("decided_by", sa.String(36), nullable=False),
        sa.Column("decision_comment", sa.Text, nullable=False),
        _created(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_promotion_cases_candidate", "promotion_cases", ["candidate_id", "status"]
    )
    op.create_index("ix_promotion_cases_status", "promotion_cases", ["status", "created_at"])
    op.create_table(
        "promotion_scores",
        sa.Column("case_id", sa.String(36), primary_key=True),
        sa.Column("panel_round", sa.Integer, primary_key=True),
        sa.Column("member_id", sa.String(36), primary_key=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        _created(),
    )
    op.create_table(
        "promotion_objections",
        sa.Column("case_id", sa.String(36), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("resolved_by", sa.String(36), nullable=False),
        _created(),
    )
    op.create_table(
        "promotion_steps",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.String(80), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        _created(),
        sa.UniqueConstraint("case_id", "sequence", name="uq_promotion_step"),
    )
    op.create_table(
        "promotion_rules",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("min_rating", sa.String(1), nullable=False),
        sa.Column("ratings_count", sa.Integer, nullable=False),
        sa.Column("min_tenure_months", sa.Integer, nullable=False),
        sa.Column("updated_by", sa.String(36), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("promotion_rules")
    op.drop_table("promotion_steps")
    op.drop_table("promotion_objections")
    op.drop_table("promotion_scores")
    op.drop_index("ix_promotion_cases_status", table_name="promotion_cases")
    op.drop_index("ix_promotion_cases_candidate", table_name="promotion_cases")
    op.drop_table("promotion_cases")
