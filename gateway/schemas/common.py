"""What every resource's schemas share: the request/response bases, the page envelope and
the annotated field types (names, texts, ids, amounts, confidence, ISO weeks).

Request models do all the input checks a client can get wrong (required fields, non-empty
names, finite non-negative numbers, ISO dates and weeks) so bad input is a 422
``validation_error`` before any service is called. The limits come from
workflows/vocabulary.py, so the gateway and the services enforce the same ones.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from workflows.vocabulary import (
    MAX_CONFIDENCE,
    MAX_NAME,
    MAX_NOTE,
    MAX_TITLE,
    WEEK,
    week_bounds,
)

# The longest id a client may send (ids are uuids or external keys).
MAX_ID = 128
# An email address (also the longest sign-in name).
MAX_EMAIL = 320
# The most ids one request may list (objectives to submit or copy).
MAX_IDS = 100

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)]
# The title of an objective or key result, or a milestone.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTE)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID)]
OptionalId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_ID)]
# Finite and ≥ 0; strict, so "12" (a string) or true are rejected rather than coerced.
Amount = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Confidence = Annotated[int, Field(strict=True, ge=0, le=MAX_CONFIDENCE)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def _week(value: str) -> str:
    if not WEEK.match(value):
        raise ValueError('week must look like "2026-W48"')
    if week_bounds(value) is None:
        raise ValueError(f"{value} is not an ISO week")
    return value


Week = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_week)]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


T = TypeVar("T")


class Page(ResponseModel, Generic[T]):
    items: list[T]
    # Empty when this page is the last one; pass it back as page_token otherwise.
    next_page_token: str = ""


def unique(values: list[str], what: str) -> None:
    """Refuse a list that names the same thing twice."""
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{what} {v!r} appears twice")
        seen.add(v)


def _objectives_once(ids: list[str]) -> list[str]:
    unique(ids, "objective")
    return ids


# Objectives a request names (to submit, to copy): each once.
ObjectiveIds = Annotated[list[Id], Field(max_length=MAX_IDS), AfterValidator(_objectives_once)]
