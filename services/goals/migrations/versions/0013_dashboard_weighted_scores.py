"""Dashboard read model: each department's sum of weight x score and sum of weights over the
key results that count, so the first page of a cycle's scores reads its per-department
figures from here instead of a pass over every key result. Existing rows are filled from the
goals tables (counted as in the scores: every key result of an open cycle, those of closed
objectives once the cycle is closed).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_COUNTED = """
    FROM key_results k
    JOIN objectives o ON o.id = k.objective_id
    JOIN cycles c ON c.id = k.cycle_id
    WHERE k.cycle_id = dashboard_departments.cycle_id
      AND k.department_id = dashboard_departments.department_id
      AND (c.status <> 'closed' OR o.status = 'closed')
"""


def upgrade() -> None:
    with op.batch_alter_table("dashboard_departments") as batch:
        batch.add_column(
            sa.Column("weighted_score_sum", sa.Float, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("weight_sum", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        "UPDATE dashboard_departments SET "
        f"weighted_score_sum = COALESCE((SELECT SUM(k.weight * k.score) {_COUNTED}), 0), "
        f"weight_sum = COALESCE((SELECT SUM(k.weight) {_COUNTED}), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("dashboard_departments") as batch:
        batch.drop_column("weight_sum")
        batch.drop_column("weighted_score_sum")
