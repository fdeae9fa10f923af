"""Indexes for reads narrowed to departments, for at-risk lists and for objective pages: key
results and objectives by (cycle, department), key results by (cycle, risk status) and
objectives by cycle, both in the lists' order (created_at, id). Without them a team's scores, the at-risk lists
and the dashboard read model's refresh of a few departments each scanned every key result of
the cycle, and the first page of objectives sorted every objective of the cycle
(bench/reports.py, docs/benchmarks.md).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_key_results_cycle_department", "key_results", ["cycle_id", "department_id"])
    op.create_index(
        "ix_key_results_cycle_risk",
        "key_results",
        ["cycle_id", "risk_status", "created_at", "id"],
    )
    op.create_index("ix_objectives_cycle_department", "objectives", ["cycle_id", "department_id"])
    op.create_index("ix_objectives_cycle_created", "objectives", ["cycle_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_objectives_cycle_created", "objectives")
    op.drop_index("ix_objectives_cycle_department", "objectives")
    op.drop_index("ix_key_results_cycle_risk", "key_results")
    op.drop_index("ix_key_results_cycle_department", "key_results")
