"""org sync runs from their start (dry runs, failures with a reason, who would be
deactivated), uploaded org files, background invitation jobs

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("org_sync_runs") as batch:
        batch.add_column(
            sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("error", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("deactivations", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("mass_deactivation", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("requested_by", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("upload_id", sa.String(36), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("workflow_id", sa.String(255), nullable=False, server_default="")
        )
    op.create_table(
        "org_sync_uploads",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("departments", sa.Integer, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "invitation_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("include_privileged", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("issued", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.Column("chunk_count", sa.Integer, nullable=False),
        sa.Column("chunks_done", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slips_taken_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "invitation_job_items",
        sa.Column(
            "job_id", sa.String(36), sa.ForeignKey("invitation_jobs.id"), primary_key=True
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("employee_id", sa.String(128), nullable=False),
        sa.Column("chunk_no", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("employee_number", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department_id", sa.String(36), nullable=False),
        sa.Column("department_name", sa.String(200), nullable=False),
        sa.Column("password", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_invitation_job_items_chunk", "invitation_job_items", ["job_id", "chunk_no"]
    )
    op.create_table(
        "invitation_job_chunks",
        sa.Column(
            "job_id", sa.String(36), sa.ForeignKey("invitation_jobs.id"), primary_key=True
        ),
        sa.Column("chunk_no", sa.Integer, primary_key=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("invitation_job_chunks")
    op.drop_index("ix_invitation_job_items_chunk", table_name="invitation_job_items")
    op.drop_table("invitation_job_items")
    op.drop_table("invitation_jobs")
    op.drop_table("org_sync_uploads")
    with op.batch_alter_table("org_sync_runs") as batch:
        for column in (
            "workflow_id",
            "upload_id",
            "requested_by",
            "mass_deactivation",
            "deactivations",
            "error",
            "dry_run",
        ):
            batch.drop_column(column)
