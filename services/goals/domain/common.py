"""Shared pieces of the goals rules: text and number checks, patterns."""

from __future__ import annotations

import math
import re

import grpc

from services.common.errors import DomainError, InvalidArgument
from workflows.vocabulary import (
    CHECKLIST_ITEM_ID_PATTERN,
    CURRENCY_CODE,
)

CHECKLIST_ITEM_ID = re.compile(CHECKLIST_ITEM_ID_PATTERN)
CURRENCY = re.compile(f"^{CURRENCY_CODE}$")


def permission_denied(code: str, message: str) -> DomainError:
    return DomainError(code, message, status=grpc.StatusCode.PERMISSION_DENIED)


def clean_text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidArgument(f"{field}_required", f"{field} must not be empty")
    if len(text) > limit:
        raise InvalidArgument(f"{field}_too_long", f"{field} must be at most {limit} characters")
    return text


def number(value: float, field: str) -> float:
    if not math.isfinite(value):
        raise InvalidArgument(f"invalid_{field}", f"{field} must be a finite number")
    if value < 0:
        raise InvalidArgument(f"negative_{field}", f"{field} must not be negative")
    return value
