"""Dashboard read model: red key results per department (at risk with an open blocker naming
another department). Existing rows get 0 until the next event or rebuild recomputes them.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dashboard_departments") as batch:
        batch.add_column(sa.Column("red", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("dashboard_departments") as batch:
        batch.drop_column("red")
