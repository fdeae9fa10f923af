"""continuous feedback, badges, upward feedback, challenges, settings, outbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from services.common.outbox import create_outbox_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.String(36), primary_key=True)


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "badges",
        _id(),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _created_at(),
    )
    op.create_table(
        "feedback_items",
        _id(),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("about_id", sa.String(36), nullable=False),
        sa.Column("about_department_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("author_department_id", sa.String(36), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("share_with_manager", sa.Boolean, nullable=False),
        sa.Column("badge_id", sa.String(36), sa.ForeignKey("badges.id"), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("request_id", sa.String(36), nullable=True),
        sa.Column("week", sa.String(8), nullable=False),
        _created_at(),
    )
    op.create_index("ix_feedback_about", "feedback_items", ["about_id", "created_at"])
    op.create_index("ix_feedback_author", "feedback_items", ["author_id", "created_at"])
    op.create_index("ix_feedback_subject", "feedback_items", ["subject_kind", "subject_id"])
    op.create_index(
        "ix_feedback_praise_department",
        "feedback_items",
        ["visibility", "about_department_id", "created_at"],
    )
    op.create_index("ix_feedback_week", "feedback_items", ["week", "author_department_id"])
    op.create_table(
        "feedback_requests",
        _id(),
        sa.Column("requester_id", sa.String(36), nullable=False),
        sa.Column("responder_id", sa.String(36), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("feedback_id", sa.String(36), nullable=True),
        _created_at(),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_feedback_requests_responder",
        "feedback_requests",
        ["responder_id", "status", "created_at"],
    )
    op.create_index(
        "ix_feedback_requests_requester", "feedback_requests", ["requester_id", "created_at"]
    )
    op.create_table(
        "upward_feedback",
        _id(),
        sa.Column("manager_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("author_department_id", sa.String(36), nullable=False),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("week", sa.String(8), nullable=False),
        _created_at(),
    )
    op.create_index("ix_upward_manager_period", "upward_feedback", ["manager_id", "period"])
    op.create_table(
        "challenges",
        _id(),
        sa.Column("objective_id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("challenger_id", sa.String(36), nullable=False),
        sa.Column("challenger_department_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("week", sa.String(8), nullable=False),
        _created_at(),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_challenges_owner", "challenges", ["owner_id", "status", "created_at"])
    op.create_index("ix_challenges_objective", "challenges", ["objective_id", "created_at"])
    op.create_index("ix_challenges_week", "challenges", ["week", "challenger_department_id"])
    op.create_table(
        "challenge_messages",
        _id(),
        sa.Column("challenge_id", sa.String(36), sa.ForeignKey("challenges.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        _created_at(),
    )
    op.create_index(
        "ix_challenge_messages_challenge", "challenge_messages", ["challenge_id", "seq"]
    )
    op.create_table(
        "settings",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("anonymity_threshold", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    create_outbox_table(op)


def downgrade() -> None:
    for table in (
        "settings",
        "challenge_messages",
        "challenges",
        "upward_feedback",
        "feedback_requests",
        "feedback_items",
        "badges",
        "outbox",
    ):
        op.drop_table(table)
