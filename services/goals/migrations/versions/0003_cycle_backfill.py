"""Backfilled cycles: ``cycles.backfill``, set when a cycle is created after its end date
(its workflow then waits for CloseCycle instead of closing it by itself). Existing cycles:
false.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite too): a batch copy would rebuild a table others reference.
    op.add_column(
        "cycles", sa.Column("backfill", sa.Boolean, nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("cycles", "backfill")
