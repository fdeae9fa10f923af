"""Pure calendar helpers for workflow timers: the organisation's local time → UTC instants.

Every timer a workflow sets is an instant in UTC computed here from a local wall-clock time
in the cycle's (organisation's) IANA time zone, so "Monday 09:00" stays 09:00 local across
daylight-saving changes. No I/O, no clock: callers pass ``now`` (``workflow.now()``).

Wall-clock times that do not exist (a DST gap) resolve with ``fold=0`` as :mod:`zoneinfo`
does (02:30 on a spring-forward night becomes 03:30 local); ambiguous ones (the repeated hour
in autumn) take the first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflows.vocabulary import cycle_dates_problem, deadlines, parse_day, week_of

# Inside Temporal's sandbox ZoneInfo is the real class only because the worker and the
# replayer run workflows with workflows.sandbox.RUNNER, which leaves zoneinfo.ZoneInfo
# unrestricted (loading a zone by name is deterministic for the installed tzdata).

MONDAY = 0
SATURDAY = 5


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r}") from err


def local_instant(day: date, at: time, tz: str) -> datetime:
    """``day`` at wall-clock ``at`` in ``tz``, as an aware UTC datetime (DST-safe)."""
    local = datetime.combine(day, at, tzinfo=zone(tz))
    # Round-trip through UTC normalises a non-existent wall-clock time (DST gap).
    return local.astimezone(UTC)


def start_of_day(day: date, tz: str) -> datetime:
    """Local midnight at the start of ``day``, in UTC."""
    return local_instant(day, time.min, tz)


def end_of_day(day: date, tz: str) -> datetime:
    """Local midnight after ``day`` (the end of an inclusive last day), in UTC."""
    return start_of_day(day + timedelta(days=1), tz)


def local_date(moment: datetime, tz: str) -> date:
    """The calendar date of ``moment`` in ``tz``."""
    return moment.astimezone(zone(tz)).date()


def next_weekday_at(after: datetime, weekday: int, at: time, tz: str) -> datetime:
    """The first ``weekday`` (0 = Monday) at local ``at`` strictly after ``after``, in UTC.

    >>> next_weekday_at(datetime(2026, 11, 27, tzinfo=UTC), 0, time(9), "Asia/Shanghai")
    datetime.datetime(2026, 11, 30, 1, 0, tzinfo=datetime.timezone.utc)
    """
    day = local_date(after, tz)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while True:
        candidate = local_instant(day, at, tz)
        if candidate > after:
            return candidate
        day += timedelta(days=7)


def weekly_instants(
    first_day: date, last_day: date, weekday: int, at: time, tz: str
) -> list[datetime]:
    """Every ``weekday`` at local ``at`` on the days ``first_day``..``last_day`` (inclusive)."""
    day = first_day + timedelta(days=(weekday - first_day.weekday()) % 7)
    out = []
    while day <= last_day:
        out.append(local_instant(day, at, tz))
        day += timedelta(days=7)
    return out


@dataclass(frozen=True)
class WorkCalendar:
    """The organisation's exceptions to Mon–Fri (HR maintains them, identity stores them):
    ``holidays`` (public holidays, also on weekdays) and ``working_days`` (调休: a weekend day
    that is worked). ISO dates; an empty calendar is plain Mon–Fri."""

    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()

    @classmethod
    def of(cls, holidays: list[str], working_days: list[str]) -> WorkCalendar:
        """From ISO date strings (what an activity returns); unparsable ones are ignored."""

        def days(values: list[str]) -> frozenset[date]:
            parsed = (parse_day(v) for v in values)
            return frozenset(d for d in parsed if d is not None)

        return cls(days(holidays), days(working_days))


NO_EXCEPTIONS = WorkCalendar()


def is_working_day(day: date, calendar: WorkCalendar = NO_EXCEPTIONS) -> bool:
    """A working day: an adjusted working day (调休) is one, a holiday is not, otherwise
    Monday to Friday."""
    if day in calendar.working_days:
        return True
    if day in calendar.holidays:
        return False
    return day.weekday() < SATURDAY


def add_working_days(
    start: datetime, days: int, tz: str, calendar: WorkCalendar = NO_EXCEPTIONS
) -> datetime:
    """``start`` moved forward by ``days`` working days (local, on ``calendar``), keeping its
    local wall-clock time. Friday 10:00 + 2 → Tuesday 10:00; Saturday 10:00 + 1 → Monday
    10:00; over the National Day week the holidays are skipped and the 调休 Saturday counts.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    local = start.astimezone(zone(tz))
    day = local.date()
    left = days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, calendar):
            left -= 1
    return local_instant(day, local.time().replace(tzinfo=None), tz)


def next_working_day_at(moment: datetime, tz: str, calendar: WorkCalendar) -> datetime:
    """``moment`` when its local day is a working day, else the same local wall-clock time on
    the next working day (a Monday reminder on a holiday moves to the first day back)."""
    local = moment.astimezone(zone(tz))
    day = local.date()
    if is_working_day(day, calendar):
        return moment
    # A calendar cannot close more than a few weeks in a row; a year bounds a bad one.
    for _ in range(366):
        day += timedelta(days=1)
        if is_working_day(day, calendar):
            break
    return local_instant(day, local.time().replace(tzinfo=None), tz)


@dataclass(frozen=True)
class QuietHours:
    """No IM or e-mail from ``start`` to ``end`` local time (wraps midnight when ``start`` >
    ``end``, the usual 22:00–08:00). ``start == end`` means no quiet hours."""

    start: time = time(22, 0)
    end: time = time(8, 0)

    @property
    def enabled(self) -> bool:
        return self.start != self.end

    def covers(self, at: time) -> bool:
        if not self.enabled:
            return False
        if self.start < self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end


DEFAULT_QUIET_HOURS = QuietHours()


def parse_clock(value: str) -> time:
    """``"HH:MM"`` (24-hour) as a time; ValueError otherwise."""
    hours, sep, minutes = value.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2:
        raise ValueError(f"expected HH:MM, got {value!r}")
    if not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"expected HH:MM, got {value!r}")
    return time(int(hours), int(minutes))


def next_send_instant(now: datetime, tz: str, quiet: QuietHours) -> datetime:
    """The first instant at or after ``now`` outside the quiet hours in ``tz``: ``now`` itself
    outside them, else the end of the quiet window (08:00 local on the next morning for a
    22:00 start, on the same morning after midnight). Holidays do not silence anything."""
    local = now.astimezone(zone(tz))
    if not quiet.covers(local.time().replace(tzinfo=None)):
        return now
    day = local.date()
    if quiet.start > quiet.end and local.time().replace(tzinfo=None) >= quiet.start:
        day += timedelta(days=1)
    return max(now, local_instant(day, quiet.end, tz))


def iso_week(moment: datetime, tz: str) -> str:
    """The ISO week of ``moment`` in ``tz``, e.g. ``"2026-W48"``."""
    return week_of(local_date(moment, tz))


def parse_instant(value: str) -> datetime:
    """An RFC 3339 timestamp with an offset (``Z`` accepted) as an aware datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp needs a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class InvalidCycle(ValueError):
    """A cycle that can never be planned (dates goals would refuse, an unknown time zone)."""


@dataclass
class CycleCalendar:
    start: date
    end: date
    planning_deadline: date
    approval_deadline: date
    closing_deadline: date
    time_zone: str


def cycle_calendar(
    start_date: str,
    end_date: str,
    time_zone: str,
    planning_deadline: str = "",
    approval_deadline: str = "",
    closing_deadline: str = "",
) -> CycleCalendar:
    """A cycle's dates from its ISO dates; missing deadlines get goals' defaults
    (:func:`vocabulary.deadlines`). The same rule as goals' (:func:`vocabulary.cycle_dates_problem`)
    applies, so dates that could not be planned fail here, before any timer is computed.
    """

    def day(value: str, field: str) -> date | None:
        if not value:
            return None
        parsed = parse_day(value)
        if parsed is None:
            raise InvalidCycle(f"{field} is not an ISO date: {value!r}")
        return parsed

    start, end = day(start_date, "start_date"), day(end_date, "end_date")
    if start is None or end is None:
        raise InvalidCycle("start_date and end_date are required")
    given = (
        day(planning_deadline, "planning_deadline"),
        day(approval_deadline, "approval_deadline"),
        day(closing_deadline, "closing_deadline"),
    )
    problem = cycle_dates_problem(start, end, *given)
    if problem is not None:
        raise InvalidCycle(f"{problem[0]}: {problem[1]}")
    try:
        zone(time_zone)
    except ValueError as err:
        raise InvalidCycle(str(err)) from err
    planning, approval, closing = deadlines(start, end, *given)
    return CycleCalendar(start, end, planning, approval, closing, time_zone)
