"""A person's preferred language: ``employees.locale`` ("zh-CN", "en"; "" for both, which is
what everyone had before).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "employees", sa.Column("locale", sa.String(8), nullable=False, server_default="")
    )


def downgrade() -> None:
    op.drop_column("employees", "locale")
