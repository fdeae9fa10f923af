"""Machine-fed key results: the last telemetry value applied (binding and sequence), whether
the bound source is stale, and when the last history version of a machine value was kept.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = ("machine_binding_id", "machine_sequence", "machine_stale", "machine_versioned_at")


def upgrade() -> None:
    # Plain ADD COLUMNs with constant defaults (SQLite adds them in place; see 0007).
    op.add_column(
        "key_results",
        sa.Column("machine_binding_id", sa.String(36), nullable=False, server_default=""),
    )
    op.add_column(
        "key_results",
        sa.Column("machine_sequence", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.add_column(
        "key_results",
        sa.Column("machine_stale", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "key_results",
        sa.Column("machine_versioned_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
