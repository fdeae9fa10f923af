"""metrics, samples, bindings, dead letters, outbox

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


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("expected_interval_seconds", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        _at("created_at"),
    )
    op.create_table(
        "samples",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("sample_id", sa.String(128), primary_key=True),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        _at("event_time"),
        _at("received_at"),
    )
    op.create_index("ix_samples_metric_time", "samples", ["metric", "event_time"])
    op.create_index(
        "ix_samples_metric_source_time", "samples", ["metric", "source", "event_time"]
    )
    op.create_table(
        "bindings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("key_result_id", sa.String(36), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("aggregation", sa.String(16), nullable=False),
        sa.Column("window", sa.String(16), nullable=False),
        sa.Column("scale", sa.Float, nullable=False),
        sa.Column("offset", sa.Float, nullable=False),
        sa.Column("denominator_metric", sa.String(64), nullable=False),
        sa.Column("percentile", sa.Float, nullable=False),
        sa.Column("cycle_start", sa.Date, nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        _at("created_at"),
        sa.Column("dirty", sa.Boolean, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("last_value", sa.Float, nullable=True),
        _at("last_pushed_at", nullable=True),
        _at("window_start", nullable=True),
        _at("last_sample_at", nullable=True),
        _at("last_arrival_at", nullable=True),
        sa.Column("stale", sa.Boolean, nullable=False),
        sa.Column("stale_told", sa.Boolean, nullable=False),
    )
    op.create_index("ix_bindings_metric", "bindings", ["metric"])
    op.create_index("ix_bindings_denominator", "bindings", ["denominator_metric"])
    op.create_index("ix_bindings_key_result", "bindings", ["key_result_id"])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        _at("received_at"),
    )
    op.create_index("ix_dead_letters_received", "dead_letters", ["received_at"])
    op.create_index("ix_dead_letters_reason", "dead_letters", ["reason", "received_at"])
    create_outbox_table(op)


def downgrade() -> None:
    for table in ("outbox", "dead_letters", "bindings", "samples", "metrics"):
        op.drop_table(table)
