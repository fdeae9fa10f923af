"""The org tree's version: ``org_version``, one row counted up by every transaction that changes
the tree (employees' manager, department or status, departments' parent or head, inserts and
deletes of either), as its last statement before COMMIT (services/identity/org_version.py).
Identity's reach cache keeps an answer while the version it was computed at is current.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "org_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("org_version")
