"""Departments' IM group robots, the organisation's holiday calendar and notification policy
(identity stores them; the worker's notifications and timers use them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Response

from gateway.convert import to_dict
from gateway.deps import PathId, RpcDep
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.org_channels import (
    CalendarYear,
    CalendarYearPut,
    NotificationPolicy,
    NotificationPolicyOut,
    Robot,
    RobotKind,
    RobotList,
    RobotPut,
)
from gateway.security import Allow
from stride.identity.v1 import identity_pb2 as pb

router = ResourceRouter(tags=["notifications"], route_class=StrideRoute)

Year = Annotated[int, Path(ge=1970, le=2200)]


@router.get(
    "/departments/{department_id}/robots",
    response_model=RobotList,
    name="list_department_robots",
    dependencies=[Allow("department_robot.read")],
    description="The department's IM group robots, without their secrets or webhook tokens.",
)
async def list_robots(department_id: PathId, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(
        rpc.identity.ListDepartmentRobots,
        pb.ListDepartmentRobotsRequest(department_id=department_id),
    )
    return {"robots": [to_dict(r) for r in msg.robots]}


@router.put(
    "/departments/{department_id}/robots/{kind}",
    response_model=Robot,
    name="put_department_robot",
    dependencies=[Allow("department_robot.update")],
    description="Sets (or replaces) the department's DingTalk or WeCom group robot. The webhook "
    "must be https (422 webhook_not_https, invalid_webhook_url); the secret is write-only.",
)
async def put_robot(
    department_id: PathId, kind: RobotKind, body: RobotPut, rpc: RpcDep
) -> dict[str, Any]:
    msg = await rpc(
        rpc.identity.PutDepartmentRobot,
        pb.PutDepartmentRobotRequest(
            department_id=department_id,
            kind=kind,
            webhook_url=body.webhook_url,
            secret=body.secret,
            language=body.language,
        ),
    )
    return to_dict(msg)


@router.delete(
    "/departments/{department_id}/robots/{kind}",
    status_code=204,
    response_class=Response,
    name="delete_department_robot",
    dependencies=[Allow("department_robot.delete")],
    description="Removes the robot (404 robot_not_found when there is none).",
)
async def delete_robot(department_id: PathId, kind: RobotKind, rpc: RpcDep) -> Response:
    await rpc(
        rpc.identity.DeleteDepartmentRobot,
        pb.DeleteDepartmentRobotRequest(department_id=department_id, kind=kind),
    )
    return Response(status_code=204)


def _year(msg: pb.OrgCalendarYear) -> dict[str, Any]:
    return {
        "year": msg.year,
        "holidays": [{"date": d.date, "name": d.name} for d in msg.holidays],
        "working_days": [{"date": d.date, "name": d.name} for d in msg.working_days],
        "updated_at": msg.updated_at,
    }


@router.get(
    "/org/calendar/{year}",
    response_model=CalendarYear,
    name="get_org_calendar",
    dependencies=[Allow("org_calendar.read")],
    description="The year's holidays and adjusted working days (调休); empty when none are set "
    "(plain Monday to Friday).",
)
async def get_calendar(year: Year, rpc: RpcDep) -> dict[str, Any]:
    return _year(
        await rpc(rpc.identity.GetOrgCalendarYear, pb.GetOrgCalendarYearRequest(year=year))
    )


@router.put(
    "/org/calendar/{year}",
    response_model=CalendarYear,
    name="put_org_calendar",
    dependencies=[Allow("org_calendar.update")],
    description="Replaces the year's holidays and adjusted working days. Dates must be in the "
    "year (422 date_outside_year), each once (duplicate_date); an adjusted working day is a "
    "Saturday or Sunday (working_day_not_weekend).",
)
async def put_calendar(year: Year, body: CalendarYearPut, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(
        rpc.identity.PutOrgCalendarYear,
        pb.PutOrgCalendarYearRequest(
            year=year,
            holidays=[pb.CalendarDay(date=d.date.isoformat(), name=d.name) for d in body.holidays],
            working_days=[
                pb.CalendarDay(date=d.date.isoformat(), name=d.name) for d in body.working_days
            ],
        ),
    )
    return _year(msg)


@router.get(
    "/org/notification-policy",
    response_model=NotificationPolicyOut,
    name="get_notification_policy",
    dependencies=[Allow("notification_policy.read")],
    description="The organisation's time zone and quiet hours (default 22:00–08:00 "
    "Asia/Shanghai): no e-mail or IM then; they are sent when the quiet hours end.",
)
async def get_policy(rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(rpc.identity.GetOrgCalendar, pb.GetOrgCalendarRequest())
    return to_dict(msg.policy)


@router.put(
    "/org/notification-policy",
    response_model=NotificationPolicyOut,
    name="put_notification_policy",
    dependencies=[Allow("notification_policy.update")],
    description="Sets the time zone (422 invalid_time_zone) and the quiet hours.",
)
async def put_policy(body: NotificationPolicy, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(
        rpc.identity.PutNotificationPolicy,
        pb.NotificationPolicy(
            time_zone=body.time_zone, quiet_start=body.quiet_start, quiet_end=body.quiet_end
        ),
    )
    return to_dict(msg)
