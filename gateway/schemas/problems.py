"""RFC 9457 problem details, the body of every error (see gateway/problems.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FieldError(BaseModel):
    loc: list[str | int]
    field: str
    message: str
    type: str


class RowError(BaseModel):
    """One refused row of an uploaded file (its row number in the file)."""

    row: int
    code: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, served as application/problem+json."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    request_id: str | None = None
    errors: list[FieldError] | None = None
    # An uploaded file refused row by row (e.g. import_rows_invalid): every refused row.
    rows: list[RowError] | None = None
