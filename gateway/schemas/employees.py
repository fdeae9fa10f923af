"""The employee directory and password resets: the bodies of /employees."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from gateway.policy import GRANTED_ROLES
from gateway.schemas.common import (
    MAX_EMAIL,
    HumanText,
    Id,
    Name,
    OptionalId,
    RequestModel,
    ResponseModel,
    Secret,
)
from gateway.schemas.words import EmployeeStatus, EmployeeStatusOut, GrantedRole, Locale
from workflows.vocabulary import MAX_NAME

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_EMAIL), AfterValidator(_email)
]


Roles = Annotated[list[GrantedRole], Field(max_length=len(GRANTED_ROLES))]
JobTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME), HumanText(required=False)
]


class EmployeeCreate(RequestModel):
    employee_number: Name
    name: Name
    email: Email
    department_id: Id
    manager_id: OptionalId = ""
    title: JobTitle = ""
    roles: Roles = Field(default_factory=list, description="granted roles; admin: admins only")
    locale: Locale = Field(
        default="", description='language of their e-mail: "zh-CN", "en", "" both'
    )


class EmployeeUpdate(RequestModel):
    """Only the fields sent change."""

    name: Name | None = None
    email: Email | None = None
    department_id: Id | None = None
    manager_id: OptionalId | None = Field(default=None, description='"" removes the manager')
    title: JobTitle | None = None
    roles: Roles | None = Field(default=None, description="replaces the granted roles")
    status: EmployeeStatus | None = None
    locale: Locale | None = Field(
        default=None, description='language of their e-mail: "zh-CN", "en", "" both'
    )


class Employee(ResponseModel):
    id: str
    employee_number: str
    name: str
    email: str
    department_id: str
    manager_id: str
    status: EmployeeStatusOut
    created_at: str
    title: str = ""
    roles: list[str] = Field(default_factory=list)
    is_manager: bool = False
    locale: str = Field(default="", description='language of their e-mail ("" both)')


class PasswordReset(RequestModel):
    new_password: Secret | None = Field(
        default=None, description="omit to have a temporary password generated (shown once)"
    )


class PasswordResetResult(ResponseModel):
    employee_id: str
    must_change_password: bool
    temporary_password: str | None = Field(
        default=None, description="only when generated; shown once"
    )


class Preferences(RequestModel):
    """What a person sets for themselves."""

    locale: Locale = Field(description='language of their e-mail: "zh-CN", "en", "" both')
