"""Pure identity rules: input normalisation and validation (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.common.errors import InvalidArgument

EMPLOYEE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 200


def clean_name(value: str, field: str = "name") -> str:
    name = " ".join(value.split())
    if not name:
        raise InvalidArgument(f"{field}_required", f"{field} must not be empty")
    if len(name) > MAX_NAME:
        raise InvalidArgument(f"{field}_too_long", f"{field} must be at most {MAX_NAME} characters")
    return name


@dataclass(frozen=True)
class NewEmployee:
    employee_number: str
    name: str
    email: str | None
    department_id: str
    manager_id: str | None


def new_employee(
    employee_number: str, name: str, email: str, department_id: str, manager_id: str
) -> NewEmployee:
    number = employee_number.strip()
    if not EMPLOYEE_NUMBER.match(number):
        raise InvalidArgument(
            "invalid_employee_number",
            "employee_number must be 1-64 letters, digits, '.', '_' or '-'",
        )
    mail = email.strip() or None
    if mail is not None and not EMAIL.match(mail):
        raise InvalidArgument("invalid_email", "email is not a valid address")
    if not department_id.strip():
        raise InvalidArgument("department_required", "department_id must be given")
    return NewEmployee(
        employee_number=number,
        name=clean_name(name),
        email=mail,
        department_id=department_id.strip(),
        manager_id=manager_id.strip() or None,
    )
