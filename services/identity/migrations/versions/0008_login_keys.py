"""employees: logins and e-mails unique case-insensitively (normalised keys)

Revision ID: 0008
Revises: 0007

``employee_number_key`` and ``email_key`` hold ``domain.login_key`` of the employee number
and the e-mail (NFKC, case-folded); unique indexes on them are the database's guarantee
(e-mails among active people). Rows already in conflict are kept working as far as they
can: the oldest person keeps the login or the e-mail, a later one's employee number key is
made unique with its id (they sign in with their e-mail) and a later one's e-mail key is
left empty (they sign in with their employee number). Each such row is logged so HR can
correct it.
"""

import logging

import sqlalchemy as sa
from alembic import op

from services.identity.domain import login_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.add_column("employees", sa.Column("employee_number_key", sa.String(128), nullable=True))
    op.add_column("employees", sa.Column("email_key", sa.Text, nullable=True))
    employees = sa.table(
        "employees",
        sa.column("id", sa.String),
        sa.column("employee_number", sa.String),
        sa.column("email", sa.String),
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("employee_number_key", sa.String),
        sa.column("email_key", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            employees.c.id, employees.c.employee_number, employees.c.email, employees.c.status
        ).order_by(employees.c.created_at, employees.c.id)
    ).all()
    numbers: set[str] = set()
    emails: set[str] = set()
    for row in rows:
        number_key = login_key(row.employee_number)
        if number_key in numbers:
            log.warning(
                "employee %s: employee number %r differs from an older one only in case; "
                "it signs in with its e-mail until HR changes it",
                row.id,
                row.employee_number,
            )
            number_key = f"{number_key}#{row.id}"
        numbers.add(number_key)
        email_key = login_key(row.email) if row.email else None
        if email_key is not None and row.status == "active":
            if email_key in emails:
                log.warning(
                    "employee %s: e-mail already used by an older active employee; "
                    "it signs in with its employee number until HR changes it",
                    row.id,
                )
                email_key = None
            else:
                emails.add(email_key)
        conn.execute(
            employees.update()
            .where(employees.c.id == row.id)
            .values(employee_number_key=number_key, email_key=email_key)
        )
    if conn.dialect.name == "postgresql":
        # SQLite would have to copy the table (which others reference) to add NOT NULL; there
        # the model's validator fills the key on every write.
        op.alter_column("employees", "employee_number_key", nullable=False)
    op.create_index("ux_employees_number_key", "employees", ["employee_number_key"], unique=True)
    op.create_index(
        "ux_employees_email_key",
        "employees",
        ["email_key"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("ux_employees_email_key", "employees")
    op.drop_index("ux_employees_number_key", "employees")
    with op.batch_alter_table("employees") as batch:
        batch.drop_column("email_key")
        batch.drop_column("employee_number_key")
