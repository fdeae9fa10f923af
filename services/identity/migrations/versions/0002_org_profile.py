"""department head, pilot flag, external ids; employee profile and roles

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("head_id", sa.String(36), nullable=True))
        batch.add_column(
            sa.Column("stride_enabled", sa.Boolean, nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("external_id", sa.String(128), nullable=True))
        batch.create_unique_constraint("uq_departments_external_id", ["external_id"])
    with op.batch_alter_table("employees") as batch:
        batch.add_column(sa.Column("mobile", sa.String(32), nullable=True))
        batch.add_column(sa.Column("title", sa.String(200), nullable=True))
        batch.add_column(sa.Column("grade", sa.String(32), nullable=True))
        batch.add_column(sa.Column("hire_date", sa.Date, nullable=True))
        batch.add_column(sa.Column("roles", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("external_id", sa.String(128), nullable=True))
        batch.create_unique_constraint("uq_employees_external_id", ["external_id"])


def downgrade() -> None:
    with op.batch_alter_table("employees") as batch:
        batch.drop_constraint("uq_employees_external_id")
        for column in ("external_id", "roles", "hire_date", "grade", "title", "mobile"):
            batch.drop_column(column)
    with op.batch_alter_table("departments") as batch:
        batch.drop_constraint("uq_departments_external_id")
        for column in ("external_id", "stride_enabled", "head_id"):
            batch.drop_column(column)
