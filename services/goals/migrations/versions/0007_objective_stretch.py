"""Stretch objectives: ``objectives.stretch`` (false for every existing objective).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (not a batch copy): SQLite adds a column with a constant default in
    # place, and copying ``objectives`` would trip the key results' foreign key.
    op.add_column(
        "objectives", sa.Column("stretch", sa.Boolean, nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("objectives") as batch:
        batch.drop_column("stretch")
