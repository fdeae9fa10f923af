"""Department IM robots, the organisation's calendar and notification policy.

Writes are audited with the public shape of what changed: a robot without its webhook token
and secret (:func:`robot_pb`), a calendar year, the policy. Reads of robots never return the
secret or the full webhook; :meth:`Channels.targets` (the worker's IM activity) alone does.
"""

from __future__ import annotations

from datetime import date

from services.common.errors import InvalidArgument, NotFound
from services.common.models import rfc3339, utcnow
from services.common.pilot import person_in_pilot
from services.common.uow import Units
from services.identity.channels import domain
from services.identity.channels.models import (
    CalendarDay,
    DepartmentRobot,
    NotificationPolicyRow,
    TrainingCourseRow,
)
from services.identity.channels.repository import POLICY_ID, ChannelsRepository
from services.identity.handlers import reading
from stride.identity.v1 import identity_pb2 as pb
from workflows.calendar import DEFAULT_QUIET_HOURS
from workflows.vocabulary import DEFAULT_TIME_ZONE, parse_day

DEFAULT_POLICY = pb.NotificationPolicy(
    time_zone=DEFAULT_TIME_ZONE,
    quiet_start=DEFAULT_QUIET_HOURS.start.strftime("%H:%M"),
    quiet_end=DEFAULT_QUIET_HOURS.end.strftime("%H:%M"),
)


def _check(problem: domain.Problem | None) -> None:
    if problem is not None:
        raise InvalidArgument(*problem)


def _day(text: str) -> date:
    day = parse_day(text)
    if day is None:  # calendar_problem let it through: a bug
        raise InvalidArgument("invalid_date", f"{text!r} is not an ISO date")
    return day


def robot_pb(row: DepartmentRobot) -> pb.DepartmentRobot:
    """The public shape of a robot (no secret, the webhook's token cut to a hint)."""
    return pb.DepartmentRobot(
        department_id=row.department_id,
        kind=row.kind,
        webhook_hint=domain.webhook_hint(row.webhook_url),
        has_secret=bool(row.secret),
        language=row.language,
        updated_at=rfc3339(row.updated_at),
    )


def _year_pb(year: int, rows: list[CalendarDay]) -> pb.OrgCalendarYear:
    return pb.OrgCalendarYear(
        year=year,
        holidays=[
            pb.CalendarDay(date=r.day.isoformat(), name=r.name)
            for r in rows
            if r.kind == domain.HOLIDAY
        ],
        working_days=[
            pb.CalendarDay(date=r.day.isoformat(), name=r.name)
            for r in rows
            if r.kind == domain.WORKING_DAY
        ],
        updated_at=rfc3339(max((r.updated_at for r in rows), default=None)),
    )


def _policy_pb(row: NotificationPolicyRow | None) -> pb.NotificationPolicy:
    if row is None:
        return pb.NotificationPolicy(
            time_zone=DEFAULT_POLICY.time_zone,
            quiet_start=DEFAULT_POLICY.quiet_start,
            quiet_end=DEFAULT_POLICY.quiet_end,
        )
    return pb.NotificationPolicy(
        time_zone=row.time_zone, quiet_start=row.quiet_start, quiet_end=row.quiet_end
    )


def _courses_pb(rows: list[TrainingCourseRow]) -> pb.ListTrainingCoursesResponse:
    return pb.ListTrainingCoursesResponse(
        courses=[
            pb.TrainingCourse(
                id=r.id, title_zh=r.title_zh, title_en=r.title_en, topics=r.topics, url=r.url
            )
            for r in rows
        ],
        updated_at=rfc3339(max((r.updated_at for r in rows), default=None)),
    )


class Channels:
    def __init__(
        self, units: Units[ChannelsRepository], http_hosts: frozenset[str] = frozenset()
    ) -> None:
        self.units = units
        # Hosts whose robot webhooks may use plain http (tests' local fakes).
        self.http_hosts = http_hosts

    # -- robots ------------------------------------------------------------------------------

    async def put_robot(self, request: pb.PutDepartmentRobotRequest) -> pb.DepartmentRobot:
        language = request.language or "zh-CN"
        _check(domain.robot_problem(request.kind, language, request.secret))
        _check(domain.webhook_problem(request.webhook_url, self.http_hosts))
        async with self.units() as uow:
            repo = uow.repo
            if await repo.get_department(request.department_id) is None:
                raise NotFound("department_not_found", "department not found")
            row = await repo.robot(request.department_id, request.kind)
            before = robot_pb(row) if row is not None else None
            if row is None:
                row = DepartmentRobot(department_id=request.department_id, kind=request.kind)
                repo.add(row)
            row.webhook_url = request.webhook_url
            row.secret = request.secret
            row.language = language
            row.updated_at = utcnow()
            await repo.flush()
            msg = robot_pb(row)
            await uow.audit("department_robot.put", "department", row.department_id, before, msg)
        return msg

    async def list_robots(self, department_id: str) -> pb.ListDepartmentRobotsResponse:
        async with reading(self.units) as repo:
            if await repo.get_department(department_id) is None:
                raise NotFound("department_not_found", "department not found")
            rows = await repo.robots([department_id])
            return pb.ListDepartmentRobotsResponse(robots=[robot_pb(r) for r in rows])

    async def delete_robot(self, department_id: str, kind: str) -> pb.DepartmentRobot:
        async with self.units() as uow:
            row = await uow.repo.robot(department_id, kind)
            if row is None:
                raise NotFound("robot_not_found", "the department has no robot of that kind")
            msg = robot_pb(row)
            await uow.repo.delete_robot(row)
            await uow.audit("department_robot.delete", "department", department_id, msg, None)
        return msg

    async def targets(self, employee_ids: list[str]) -> pb.RobotTargets:
        """The robots of the given people's departments (each robot once, with the people
        in its department in the order given); people identity does not know, and people out of
        the pilot (:mod:`services.common.pilot`), are skipped."""
        async with reading(self.units) as repo:
            people = await repo.employees_by_ids(employee_ids)
            pilot = await repo.pilot_departments()
            by_department: dict[str, list[str]] = {}
            for employee_id in dict.fromkeys(employee_ids):
                person = people.get(employee_id)
                if person is not None and person_in_pilot(person.department_id, pilot):
                    by_department.setdefault(person.department_id, []).append(employee_id)
            rows = await repo.robots(by_department)
            return pb.RobotTargets(
                targets=[
                    pb.RobotTarget(
                        department_id=r.department_id,
                        kind=r.kind,
                        webhook_url=r.webhook_url,
                        secret=r.secret,
                        language=r.language,
                        employee_ids=by_department[r.department_id],
                    )
                    for r in rows
                ]
            )

    # -- calendar ----------------------------------------------------------------------------

    async def put_year(self, request: pb.PutOrgCalendarYearRequest) -> pb.OrgCalendarYear:
        holidays = [(d.date, d.name) for d in request.holidays]
        working = [(d.date, d.name) for d in request.working_days]
        _check(domain.calendar_problem(request.year, holidays, working))
        now = utcnow()
        rows = [
            CalendarDay(day=_day(text), kind=kind, name=name, year=request.year, updated_at=now)
            for kind, days in ((domain.HOLIDAY, holidays), (domain.WORKING_DAY, working))
            for text, name in days
        ]
        async with self.units() as uow:
            before = _year_pb(request.year, await uow.repo.year_days(request.year))
            await uow.repo.replace_year(request.year, rows)
            msg = _year_pb(request.year, sorted(rows, key=lambda r: r.day))
            await uow.audit("org_calendar.put", "org_calendar", str(request.year), before, msg)
        return msg

    async def get_year(self, year: int) -> pb.OrgCalendarYear:
        _check(domain.calendar_problem(year, [], []))
        async with reading(self.units) as repo:
            return _year_pb(year, await repo.year_days(year))

    async def calendar(self, request: pb.GetOrgCalendarRequest) -> pb.OrgCalendar:
        first, last = parse_day(request.from_date), parse_day(request.to_date)
        if (request.from_date and first is None) or (request.to_date and last is None):
            raise InvalidArgument("invalid_date", "from_date and to_date are ISO dates")
        async with reading(self.units) as repo:
            policy = _policy_pb(await repo.policy())
            rows = (
                await repo.calendar_days(first or date.min, last or date.max)
                if first or last
                else []
            )
        return pb.OrgCalendar(
            holidays=[r.day.isoformat() for r in rows if r.kind == domain.HOLIDAY],
            working_days=[r.day.isoformat() for r in rows if r.kind == domain.WORKING_DAY],
            policy=policy,
        )

    async def put_policy(self, request: pb.NotificationPolicy) -> pb.NotificationPolicy:
        _check(domain.policy_problem(request.time_zone, request.quiet_start, request.quiet_end))
        async with self.units() as uow:
            row = await uow.repo.policy()
            before = _policy_pb(row)
            if row is None:
                row = NotificationPolicyRow(id=POLICY_ID)
                uow.repo.add(row)
            row.time_zone = request.time_zone
            row.quiet_start = request.quiet_start
            row.quiet_end = request.quiet_end
            row.updated_at = utcnow()
            await uow.repo.flush()
            msg = _policy_pb(row)
            await uow.audit("notification_policy.put", "org", "notification_policy", before, msg)
        return msg

    # -- training catalogue ------------------------------------------------------------------

    async def list_courses(self) -> pb.ListTrainingCoursesResponse:
        async with reading(self.units) as repo:
            return _courses_pb(await repo.courses())

    async def put_courses(
        self, request: pb.PutTrainingCoursesRequest
    ) -> pb.ListTrainingCoursesResponse:
        courses = [
            (c.id, c.title_zh, c.title_en, [t.strip() for t in c.topics], c.url)
            for c in request.courses
        ]
        _check(domain.courses_problem(courses))
        now = utcnow()
        rows = [
            TrainingCourseRow(
                id=course_id,
                position=n,
                title_zh=title_zh.strip(),
                title_en=title_en.strip(),
                topics=topics,
                url=url,
                updated_at=now,
            )
            for n, (course_id, title_zh, title_en, topics, url) in enumerate(courses)
        ]
        async with self.units() as uow:
            before = _courses_pb(await uow.repo.courses())
            await uow.repo.replace_courses(rows)
            msg = _courses_pb(rows)
            await uow.audit("training_courses.put", "training_courses", "catalogue", before, msg)
        return msg
