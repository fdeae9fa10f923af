"""Pure credential rules: password and PIN policy, lockout, token and API-key formats (no I/O)."""

from __future__ import annotations

import hashlib
import itertools
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.common.errors import InvalidArgument

MIN_PASSWORD = 10
MAX_PASSWORD = 256
# What an API key may be allowed to do. Keep in step with the gateway's policy module.
API_SCOPES = frozenset(
    {
        "telemetry:write",
        "goals:read",
        "goals:write",
        "org:read",
        "org:write",
        "audit:read",
    }
)
API_KEY_PREFIX = "sk_"
# Only an admin sets passwords of people holding these roles (the gateway's policy agrees).
PRIVILEGED_ROLES = frozenset({"hr", "admin"})


def check_password_policy(password: str, employee_number: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidArgument(
            "weak_password", f"a password needs at least {MIN_PASSWORD} characters"
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidArgument("weak_password", f"a password has at most {MAX_PASSWORD} characters")
    if employee_number and employee_number.lower() in password.lower():
        raise InvalidArgument("weak_password", "a password must not contain the employee number")
    if password.isdigit() or password.isalpha():
        raise InvalidArgument("weak_password", "a password needs both letters and other characters")


MIN_PIN = 4
MAX_PIN = 8
_DIGITS = frozenset("0123456789")


def pin_problem(pin: str) -> str:
    """Why ``pin`` is not a usable PIN ("" when it is): 4–8 digits (ASCII), not one digit
    repeated (``0000``), not a plain ascending or descending run (``1234``, ``654321``)."""
    if not MIN_PIN <= len(pin) <= MAX_PIN or not set(pin) <= _DIGITS:
        return f"a PIN is {MIN_PIN} to {MAX_PIN} digits"
    if len(set(pin)) == 1:
        return "a PIN must not be one digit repeated"
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if steps in ({1}, {-1}):
        return "a PIN must not be a run of consecutive digits"
    return ""


def check_pin_policy(pin: str) -> None:
    problem = pin_problem(pin)
    if problem:
        raise InvalidArgument("weak_pin", problem)


@dataclass(frozen=True)
class LockoutPolicy:
    """After ``max_failures`` failed sign-ins with one login within ``window`` (from the
    first), that login is refused for ``lock_for`` — whether or not it belongs to anyone, so
    the answers do not tell which accounts exist. A success clears the count; so does a
    password set by the person or reset by HR (for their employee number and e-mail)."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)

    def retry_after(self, locked_until: datetime | None, now: datetime) -> int | None:
        """Whole seconds the login stays locked; None when it is not locked."""
        if locked_until is None or locked_until <= now:
            return None
        return max(1, math.ceil((locked_until - now).total_seconds()))


# PIN sign-in (shared devices): 5 wrong PINs in a row for one employee number lock it for 15
# minutes. "In a row": the count only starts over after a success (or a day without failures),
# not every 15 minutes as for passwords, because a PIN has few possible values.
PIN_LOCKOUT = LockoutPolicy(
    max_failures=5, window=timedelta(days=1), lock_for=timedelta(minutes=15)
)


# Printed on paper slips: no characters that read alike (0/O, 1/l/I).
_SLIP_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def initial_password(employee_number: str) -> str:
    """A one-time password for a printed invitation slip: ``xxxx-xxxx-xxxx`` (~70 bits),
    within the password policy."""
    while True:
        groups = ["".join(secrets.choice(_SLIP_ALPHABET) for _ in range(4)) for _ in range(3)]
        password = "-".join(groups)
        try:
            check_password_policy(password, employee_number)
        except InvalidArgument:
            continue
        return password


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Refresh tokens and API keys are high-entropy: a fast hash is the right tool at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """(key shown once, its display prefix)."""
    key = f"{API_KEY_PREFIX}{secrets.token_urlsafe(32)}"
    return key, key[: len(API_KEY_PREFIX) + 6]


def clean_scopes(scopes: list[str]) -> list[str]:
    cleaned = sorted({s.strip() for s in scopes if s.strip()})
    if not cleaned:
        raise InvalidArgument("scopes_required", "an API key needs at least one scope")
    unknown = [s for s in cleaned if s not in API_SCOPES]
    if unknown:
        raise InvalidArgument(
            "unknown_scope",
            f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(API_SCOPES))}",
        )
    return cleaned


# Initial passwords handed out at once (one printed slip each).
MAX_INVITATIONS = 1000


class Person(Protocol):
    status: str
    # Space-separated granted roles.
    roles: str


def invitation_skip_reason(
    employee: Person | None, has_password: bool, include_privileged: bool
) -> str:
    """Why a person gets no initial password ("" when they get one)."""
    if employee is None:
        return "not_found"
    if employee.status != "active":
        return "inactive"
    if has_password:
        return "has_password"
    if not include_privileged and PRIVILEGED_ROLES & set(employee.roles.split()):
        return "admin_required"
    return ""
