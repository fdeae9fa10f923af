"""The readiness probe's body."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str]
