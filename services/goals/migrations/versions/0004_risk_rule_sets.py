"""Versioned risk rules: ``risk_rule_sets`` (version 1 is the customer's rule, 20 % behind
plan two check-ins running) and the version each stored assessment used
(``risk_rule_version`` on key results, check-ins and their versions; existing rows: 1).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ASSESSED = ("key_results", "check_ins", "check_in_versions")


def upgrade() -> None:
    rule_sets = op.create_table(
        "risk_rule_sets",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("weeks", sa.Integer, nullable=False),
        sa.Column("overrides", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        rule_sets.insert().values(
            version=1,
            threshold=0.2,
            weeks=2,
            overrides=[],
            note="20 % behind plan two check-ins running",
            created_by="system",
            created_at=sa.func.current_timestamp(),
        )
    )
    # Plain ADD COLUMNs (SQLite too): a batch copy would rebuild tables others reference.
    for table in ASSESSED:
        op.add_column(
            table,
            sa.Column("risk_rule_version", sa.Integer, nullable=False, server_default="1"),
        )


def downgrade() -> None:
    for table in ASSESSED:
        op.drop_column(table, "risk_rule_version")
    op.drop_table("risk_rule_sets")
