"""Identity tables (schema ``identity`` in PostgreSQL, identity.db in SQLite)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from services.common.models import created_at_column, id_column
from services.common.outbox import outbox_table
from services.identity.domain import login_key

# An e-mail belongs to one active person (a leaver's address may be given to someone new).
_ACTIVE = text("status = 'active'")


class Base(DeclarativeBase):
    pass


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_departments_parent_name"),)

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    parent_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("departments.id"), nullable=True
    )
    created_at: Mapped[datetime] = created_at_column()
    # No foreign key: departments and employees reference each other; checked in code.
    head_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    stride_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)


class Employee(Base):
    __tablename__ = "employees"
    __table_args__ = (
        Index("ix_employees_department", "department_id"),
        Index("ix_employees_manager", "manager_id"),
        # Logins and e-mails are unique case-insensitively after Unicode normalisation
        # (domain.login_key); the keys are kept up to date by the validators below.
        Index("ux_employees_number_key", "employee_number_key", unique=True),
        Index(
            "ux_employees_email_key",
            "email_key",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
    )

    id: Mapped[str] = id_column()
    employee_number: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    department_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("departments.id"), nullable=False
    )
    manager_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("employees.id"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at: Mapped[datetime] = created_at_column()
    mobile: Mapped[str | None] = mapped_column(String(32), nullable=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    grade: Mapped[str | None] = mapped_column(String(32), nullable=True)
    hire_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Granted roles, space separated ("hr admin"); "manager" is derived, never stored.
    roles: Mapped[str] = mapped_column(Text, nullable=False, default="")
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)
    # Preferred language of their e-mail ("zh-CN", "en"; "": both, Chinese first).
    locale: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    employee_number_key: Mapped[str] = mapped_column(String(128), nullable=False)
    email_key: Mapped[str | None] = mapped_column(Text, nullable=True)

    @validates("employee_number")
    def _number_key(self, _field: str, value: str) -> str:
        self.employee_number_key = login_key(value)
        return value

    @validates("email")
    def _email_key(self, _field: str, value: str | None) -> str | None:
        self.email_key = login_key(value) if value else None
        return value


class OrgVersion(Base):
    """One row (``id`` 1): counted up by every transaction that changes the org tree, as its
    last statement (services/identity/org_version.py); the reach cache checks it."""

    __tablename__ = "org_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


# The columns of the org tree: a change to one of them (or an insert or delete of the row)
# changes who is in whose organisation.
EMPLOYEE_TREE_COLUMNS = ("manager_id", "department_id", "status")
DEPARTMENT_TREE_COLUMNS = ("parent_id", "head_id")

OUTBOX = outbox_table(Base.metadata)
