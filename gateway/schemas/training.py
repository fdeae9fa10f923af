"""HR's training course catalogue (the escalation ladder's HR notice recommends from it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from gateway.schemas.common import HumanText, RequestModel, ResponseModel
from services.identity.channels.domain import (
    MAX_COURSE_ID,
    MAX_COURSE_TITLE,
    MAX_COURSE_TOPICS,
    MAX_COURSE_URL,
    MAX_COURSES,
    MAX_TOPIC,
)

Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_COURSE_TITLE),
    HumanText(),
]
Topic = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TOPIC), HumanText()
]


class CourseIn(RequestModel):
    id: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_COURSE_ID, pattern=r"^[A-Za-z0-9._-]+$"),
    ] = Field(description="Stable id chosen by HR, e.g. sales-forecasting")
    title_zh: Title
    title_en: Title
    topics: list[Topic] = Field(
        default_factory=list,
        max_length=MAX_COURSE_TOPICS,
        description="Topic keywords, key result kinds (number, percentage, currency, boolean, "
        "milestone) or units the course fits; empty: a general course",
    )
    url: Annotated[str, StringConstraints(max_length=MAX_COURSE_URL), HumanText(required=False)] = (
        Field(default="", description="https link to the course")
    )


class CoursesPut(RequestModel):
    courses: list[CourseIn] = Field(max_length=MAX_COURSES)


class Course(ResponseModel):
    id: str
    title_zh: str
    title_en: str
    topics: list[str] = Field(default_factory=list)
    url: str = ""


class CourseList(ResponseModel):
    courses: list[Course] = Field(default_factory=list)
    updated_at: str = ""
