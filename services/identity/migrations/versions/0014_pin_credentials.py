"""PINs for signing in on shared shop-floor devices: ``pin_credentials`` (argon2 hashes).

Revision ID: 0014
Revises: 0013

Failed PIN sign-ins are counted in ``sign_in_failures`` (a key of their own per employee
number), so no counter lives here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pin_credentials",
        sa.Column("employee_id", sa.String(36), sa.ForeignKey("employees.id"), primary_key=True),
        sa.Column("pin_hash", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pin_credentials")
