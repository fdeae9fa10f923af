"""What every resource's schemas share: the request/response bases, the page envelope and
the annotated field types (names, texts, ids, amounts, confidence, ISO weeks).

Request models do all the input checks a client can get wrong (required fields, non-empty
names, finite non-negative numbers, ISO dates and weeks) so bad input is a 422
``validation_error`` before any service is called. The limits come from
workflows/vocabulary.py, so the gateway and the services enforce the same ones.

Types are strict: a JSON number is not a date, a string is not a number, 0 is not false, 2.0
is not an int (request models are ``strict``). Dates, weeks and numbers in query strings are
written with the ASCII digits 0-9 only (Python's ``\\d``, ``int()`` and pydantic's lax modes
take other scripts' digits, "5_0", "+5", "yes" or a Unix timestamp).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from services.common.text import REFUSED_PATTERN, TextError, clean, unstorable
from workflows.vocabulary import (
    DATE_PATTERN,
    MAX_AMOUNT,
    MAX_CONFIDENCE,
    MAX_NAME,
    MAX_NOTE,
    MAX_TITLE,
    WEEK,
    parse_day,
    week_bounds,
)

# The longest id a client may send (ids are uuids or external keys).
MAX_ID = 128
# An email address (also the longest sign-in name).
MAX_EMAIL = 320
# The most ids one request may list (objectives to submit or copy).
MAX_IDS = 100


@dataclass(frozen=True)
class HumanText:
    """Marks a ``str`` a person types; applies the one rule for them (services/common/text.py):
    NFC, trimmed (invisible characters too), no control or bidirectional-override characters
    (``multiline``: tab and line breaks kept; otherwise whitespace collapses to one space);
    ``required``: something visible must be left. The OpenAPI document names the refused
    characters as a ``pattern``. Use after the StringConstraints that bound the length::

        Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200),
                          HumanText(required=False)]
    """

    required: bool = True
    multiline: bool = False

    def check(self, value: str) -> str:
        try:
            text = clean(value, multiline=self.multiline)
        except TextError as err:
            raise ValueError(str(err)) from err
        if self.required and not text:
            raise ValueError("must contain visible characters")
        return text

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core)
        schema["pattern"] = REFUSED_PATTERN
        return schema


def _bounded(max_length: int, *, required: bool = True) -> StringConstraints:
    return StringConstraints(
        strip_whitespace=True, min_length=1 if required else None, max_length=max_length
    )


# Names of people, departments, cycles, API keys.
Name = Annotated[str, _bounded(MAX_NAME), HumanText()]
# The title of an objective or key result, or a milestone.
Title = Annotated[str, _bounded(MAX_TITLE), HumanText()]
# A note or description (several lines).
Text = Annotated[str, _bounded(MAX_NOTE, required=False), HumanText(required=False, multiline=True)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID)]
OptionalId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_ID)]


def _zero(value: float) -> float:
    return value + 0.0  # -0.0 -> 0.0


# Finite, 0..MAX_AMOUNT; strict, so "12" (a string) or true are rejected rather than coerced;
# -0 is 0.
Amount = Annotated[
    float, Field(strict=True, ge=0, le=MAX_AMOUNT, allow_inf_nan=False), AfterValidator(_zero)
]
Confidence = Annotated[int, Field(strict=True, ge=0, le=MAX_CONFIDENCE)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def _week(value: str) -> str:
    if not WEEK.fullmatch(value):
        raise ValueError('week must look like "2026-W48" (digits 0-9)')
    if week_bounds(value) is None:
        raise ValueError(f"{value} is not an ISO week")
    return value


Week = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_week)]


def _day(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value  # already parsed (a model built in code)
    day = parse_day(value.strip()) if isinstance(value, str) else None
    if day is None:
        raise ValueError('a date must look like "2026-03-31" (YYYY-MM-DD, digits 0-9)')
    return day


# A calendar date: the string YYYY-MM-DD and nothing else (no timestamp, no time of day).
Day = Annotated[
    dt.date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]

_DIGITS = re.compile(r"[0-9]{1,9}", re.ASCII)
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


def _query_int(value: Any) -> Any:
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written with the digits 0-9")
    return value


def _query_bool(value: Any) -> Any:
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError('must be "true" or "false"')
        return value == "true"
    return value


def _instant(value: Any) -> Any:
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError('must be an RFC 3339 time with an offset, e.g. "2026-03-31T08:00:00Z"')
    return value


# Query-string values: digits 0-9 only ("5.0", "+5", "5_0", "٥" are refused) ...
QueryInt = Annotated[int, BeforeValidator(_query_int)]
# ... "true" or "false" (not "yes", "on", "1") ...
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
# ... an RFC 3339 time with an offset (not a Unix timestamp such as 0.5).
Instant = Annotated[AwareDatetime, BeforeValidator(_instant)]


def _storable(value: Any) -> Any:
    """Refuse NUL and lone surrogates in any string of a request body, however deep.

    Human texts get the full rule (``HumanText``); this covers every other string (ids,
    sign-in names, e-mail addresses, keys, passwords...): neither character can be stored in
    PostgreSQL text or encoded in a gRPC message, so they would otherwise fail further in.
    """
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if unstorable(item):
                raise ValueError("must not contain NUL or unpaired surrogate characters")
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
    return value


class RequestModel(BaseModel):
    """A request body: unknown fields refused, types strict (see the module doc), and no
    string anywhere holding a character that cannot be stored (:func:`_storable`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_unstorable_characters(cls, value: Any) -> Any:
        return _storable(value)


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
