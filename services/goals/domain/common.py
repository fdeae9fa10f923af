"""Shared pieces of the goals rules: text and number checks, patterns."""

from __future__ import annotations

import math
import re

import grpc

from services.common.errors import DomainError, InvalidArgument
from services.common.text import checked_text
from workflows.vocabulary import (
    CHECKLIST_ITEM_ID_PATTERN,
    CURRENCY_CODE,
    MAX_AMOUNT,
    PERCENT_MAX,
    Kind,
)

CHECKLIST_ITEM_ID = re.compile(CHECKLIST_ITEM_ID_PATTERN)
CURRENCY = re.compile(f"^{CURRENCY_CODE}$")


def permission_denied(code: str, message: str) -> DomainError:
    return DomainError(code, message, status=grpc.StatusCode.PERMISSION_DENIED)


def clean_text(
    value: str, field: str, limit: int, *, required: bool = True, multiline: bool = False
) -> str:
    """A person's text, by the one rule for them (services/common/text.py)."""
    return checked_text(value, field, limit, required=required, multiline=multiline)


def number(value: float, field: str, kind: str = "") -> float:
    """A key result's number: finite, 0..MAX_AMOUNT (0..PERCENT_MAX for ``kind``
    percentage); -0.0 becomes 0.0 (stored and shown as 0)."""
    if not math.isfinite(value):
        raise InvalidArgument(f"invalid_{field}", f"{field} must be a finite number")
    if value < 0:
        raise InvalidArgument(f"negative_{field}", f"{field} must not be negative")
    if value > MAX_AMOUNT:
        raise InvalidArgument(f"{field}_too_large", f"{field} must be at most {MAX_AMOUNT:g}")
    if kind == Kind.PERCENTAGE and value > PERCENT_MAX:
        raise InvalidArgument(
            "percentage_out_of_range", f"{field} of a percentage key result is 0..{PERCENT_MAX}"
        )
    return value + 0.0
