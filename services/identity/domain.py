"""Pure identity rules: input normalisation and validation, decisions workflows record (no I/O)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import grpc

from services.common.errors import DomainError, InvalidArgument
from services.common.text import checked_text
from stride.audit.v1 import audit_pb2
from workflows.vocabulary import LANGUAGES, MAX_NAME, parse_day

EMPLOYEE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MOBILE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")
# Roles that are granted; "employee" is everyone and "manager" is derived from having reports.
GRANTED_ROLES = frozenset({"hr", "admin", "executive"})


def login_key(value: str) -> str:
    """How logins (employee numbers) and e-mails compare: Unicode NFKC, case-folded, NFKC
    again (NFKC_Casefold of Unicode's caseless matching). ``ADMIN``, ``admin`` and the
    full-width ``ＡＤＭＩＮ`` are one login; ``Straße@x.de`` and ``STRASSE@X.DE`` one e-mail.
    Uniqueness in the database is on these keys."""
    folded = unicodedata.normalize("NFKC", value.strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


def clean_name(value: str, field: str = "name") -> str:
    """A name (of a person, a department, an API key): services/common/text.py's rule."""
    return checked_text(value, field, MAX_NAME)


def clean_optional(value: str, field: str, limit: int) -> str | None:
    return checked_text(value, field, limit, required=False) or None


def clean_email(value: str) -> str | None:
    mail = value.strip() or None
    if mail is not None and not EMAIL.match(mail):
        raise InvalidArgument("invalid_email", "email is not a valid address")
    return mail


def clean_mobile(value: str) -> str | None:
    mobile = value.strip() or None
    if mobile is not None and not MOBILE.match(mobile):
        raise InvalidArgument("invalid_mobile", "mobile is not a valid phone number")
    return mobile


def clean_hire_date(value: str) -> date | None:
    if not value.strip():
        return None
    day = parse_day(value.strip())
    if day is None:
        raise InvalidArgument("invalid_hire_date", "hire_date must be an ISO date (YYYY-MM-DD)")
    return day


def clean_locale(value: str) -> str:
    """A preferred language: "zh-CN", "en", or "" for both."""
    locale = value.strip()
    if locale and locale not in LANGUAGES:
        raise InvalidArgument("invalid_locale", f"locale must be one of {', '.join(LANGUAGES)}")
    return locale


def clean_roles(roles: Iterable[str]) -> list[str]:
    cleaned = sorted({r.strip().lower() for r in roles if r.strip()} - {"employee"})
    unknown = [r for r in cleaned if r not in GRANTED_ROLES]
    if unknown:
        raise InvalidArgument(
            "unknown_role", f"unknown role(s) {', '.join(unknown)}; use hr, admin or executive"
        )
    return cleaned


def clean_employee_number(value: str) -> str:
    number = value.strip()
    if not EMPLOYEE_NUMBER.match(number):
        raise InvalidArgument(
            "invalid_employee_number",
            "employee_number must be 1-64 letters, digits, '.', '_' or '-'",
        )
    return number


@dataclass(frozen=True)
class NewEmployee:
    employee_number: str
    name: str
    email: str | None
    department_id: str
    manager_id: str | None
    mobile: str | None = None
    title: str | None = None
    grade: str | None = None
    hire_date: date | None = None
    roles: tuple[str, ...] = ()
    external_id: str | None = None
    locale: str = ""


def new_employee(
    employee_number: str,
    name: str,
    email: str,
    department_id: str,
    manager_id: str,
    *,
    mobile: str = "",
    title: str = "",
    grade: str = "",
    hire_date: str = "",
    roles: Iterable[str] = (),
    external_id: str = "",
    locale: str = "",
) -> NewEmployee:
    if not department_id.strip():
        raise InvalidArgument("department_required", "department_id must be given")
    return NewEmployee(
        employee_number=clean_employee_number(employee_number),
        name=clean_name(name),
        email=clean_email(email),
        department_id=department_id.strip(),
        manager_id=manager_id.strip() or None,
        mobile=clean_mobile(mobile),
        title=clean_optional(title, "title", 200),
        grade=clean_optional(grade, "grade", 32),
        hire_date=clean_hire_date(hire_date),
        roles=tuple(clean_roles(roles)),
        external_id=external_id.strip() or None,
        locale=clean_locale(locale),
    )


def check_manager(employee_id: str, manager_id: str, manager_chain: Iterable[str]) -> None:
    """Reject a manager that would put the employee in a loop of the management chain.

    ``manager_chain`` holds the ids above the proposed manager (its manager, and so on).
    """
    if manager_id == employee_id:
        raise InvalidArgument("manager_is_self", "an employee cannot be their own manager")
    if employee_id in set(manager_chain):
        raise InvalidArgument(
            "manager_cycle", "that manager reports to this employee: it would make a loop"
        )


# --- decisions recorded by workflows in the audit trail --------------------------------------
WORKFLOW_ACTOR_PREFIX = "workflow:"
_DECISION_NAMESPACE = uuid.UUID("5f0c8f0e-3b1a-4d7e-9a51-2b6f3c1d7a42")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def decision_event_id(idempotency_key: str) -> str:
    """The event id of a recorded decision: the same key always gives the same id."""
    return str(uuid.uuid5(_DECISION_NAMESPACE, idempotency_key))


def check_decision(request: audit_pb2.RecordAuditEntryRequest, actor: str) -> None:
    """Only workflows record decisions, and only well-formed ones."""
    if not actor.startswith(WORKFLOW_ACTOR_PREFIX) or len(actor) == len(WORKFLOW_ACTOR_PREFIX):
        raise DomainError(
            "workflow_actor_required",
            "only a workflow (x-stride-actor workflow:<id>) records decisions",
            status=grpc.StatusCode.PERMISSION_DENIED,
        )
    for name, value, most in (
        ("idempotency_key", request.idempotency_key, 200),
        ("action", request.action, 100),
        ("resource_type", request.resource_type, 50),
        ("resource_id", request.resource_id, 200),
    ):
        if not value or len(value) > most:
            raise InvalidArgument(f"invalid_{name}", f"{name} needs 1..{most} characters")
    if len(request.detail) > 500:
        raise InvalidArgument("invalid_detail", "detail has at most 500 characters")
    if request.trace_id and not _TRACE_ID.fullmatch(request.trace_id):
        raise InvalidArgument("invalid_trace_id", "trace_id is 32 hex digits")
