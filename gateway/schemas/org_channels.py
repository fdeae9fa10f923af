"""IM group robots of departments, the organisation's calendar and notification policy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gateway.schemas.common import Day, RequestModel, ResponseModel
from gateway.schemas.words import Language
from services.identity.channels.domain import MAX_DAY_NAME, MAX_SECRET_LENGTH, MAX_WEBHOOK_LENGTH

RobotKind = Literal["dingtalk", "wecom"]
Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class RobotPut(RequestModel):
    webhook_url: Annotated[str, StringConstraints(min_length=1, max_length=MAX_WEBHOOK_LENGTH)] = (
        Field(description="The robot's https webhook (with its access_token / key)")
    )
    secret: Annotated[str, StringConstraints(max_length=MAX_SECRET_LENGTH)] = Field(
        default="",
        description="DingTalk signing secret (加签, SEC…); write-only, never returned. "
        "WeCom robots have none.",
    )
    language: Language = Field(
        default="zh-CN", description="Language of the texts posted to the group"
    )


class Robot(ResponseModel):
    department_id: str
    kind: str
    webhook_hint: str = Field(description="Scheme, host and path, and the token's last 4")
    has_secret: bool = False
    language: str
    updated_at: str


class RobotList(ResponseModel):
    robots: list[Robot]


class CalendarDay(RequestModel):
    date: Day
    name: Annotated[str, StringConstraints(max_length=MAX_DAY_NAME)] = ""


class CalendarYearPut(RequestModel):
    holidays: list[CalendarDay] = Field(default_factory=list, max_length=200)
    working_days: list[CalendarDay] = Field(
        default_factory=list,
        max_length=200,
        description="调休: Saturdays or Sundays that are working days",
    )


class CalendarDayOut(ResponseModel):
    date: str
    name: str = ""


class CalendarYear(ResponseModel):
    year: int
    holidays: list[CalendarDayOut] = Field(default_factory=list)
    working_days: list[CalendarDayOut] = Field(default_factory=list)
    updated_at: str = ""


class NotificationPolicy(RequestModel):
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="IANA zone, e.g. Asia/Shanghai"
    )
    quiet_start: Clock = Field(description="HH:MM local; equal to quiet_end: no quiet hours")
    quiet_end: Clock


class NotificationPolicyOut(ResponseModel):
    time_zone: str
    quiet_start: str
    quiet_end: str
