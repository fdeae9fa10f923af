"""The weekly risk sweep: ``key_results.last_swept_week``, the last ISO week the sweep
assessed the key result for (silent that week), so sweeping a week twice changes nothing.

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
    with op.batch_alter_table("key_results") as batch:
        batch.add_column(
            sa.Column("last_swept_week", sa.String(8), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.drop_column("last_swept_week")
