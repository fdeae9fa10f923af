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
    with op.batch_alter_table("objectives") as batch:
        batch.add_column(
            sa.Column("stretch", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("objectives") as batch:
        batch.drop_column("stretch")
