"""sign-in lockout per login (known or not) instead of per account

Revision ID: 0009
Revises: 0008

Failed sign-ins are counted per login in ``sign_in_failures`` whether or not the login
belongs to anyone; the per-account counter on ``credentials`` goes (a lock in force there is
not carried over: it would end within 15 minutes anyway).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("login_hash", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_ends", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_failures_expires", "sign_in_failures", ["expires_at"])
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("failed_attempts")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(
            sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ix_sign_in_failures_expires", "sign_in_failures")
    op.drop_table("sign_in_failures")
