"""Pure rules of robots, the calendar and the notification policy (no I/O).

Each ``*_problem`` function answers ``(code, message)`` for bad input, or None.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from workflows.calendar import parse_clock, zone
from workflows.vocabulary import LANGUAGES, parse_day

ROBOT_KINDS = ("dingtalk", "wecom")
ROBOT_LANGUAGES = LANGUAGES
MAX_WEBHOOK_LENGTH = 1000
MAX_SECRET_LENGTH = 200
MAX_CALENDAR_DAYS = 200
MAX_DAY_NAME = 200
HOLIDAY = "holiday"
WORKING_DAY = "working_day"

Problem = tuple[str, str]


def webhook_problem(url: str, http_hosts: frozenset[str] = frozenset()) -> Problem | None:
    """A robot webhook must be an absolute https URL with a host (``http_hosts``: hosts a
    deployment allows over plain http, e.g. a local fake robot in tests)."""
    if not url or len(url) > MAX_WEBHOOK_LENGTH:
        return ("invalid_webhook_url", f"webhook_url must be 1..{MAX_WEBHOOK_LENGTH} characters")
    if any(c.isspace() for c in url):
        return ("invalid_webhook_url", "webhook_url must not contain spaces")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return ("invalid_webhook_url", "webhook_url is not a URL")
    if not host:
        return ("invalid_webhook_url", "webhook_url needs a host")
    if parts.username or parts.password:
        return ("invalid_webhook_url", "webhook_url must not carry credentials before the host")
    if parts.scheme == "https" or (parts.scheme == "http" and host in http_hosts):
        return None
    return ("webhook_not_https", "webhook_url must use https")


def robot_problem(kind: str, language: str, secret: str) -> Problem | None:
    if kind not in ROBOT_KINDS:
        return ("invalid_robot_kind", f"kind must be one of {', '.join(ROBOT_KINDS)}")
    if language not in ROBOT_LANGUAGES:
        return ("invalid_language", f"language must be one of {', '.join(ROBOT_LANGUAGES)}")
    if len(secret) > MAX_SECRET_LENGTH or any(c.isspace() for c in secret):
        return (
            "invalid_secret",
            f"secret must be at most {MAX_SECRET_LENGTH} characters, no spaces",
        )
    if kind == "wecom" and secret:
        return ("invalid_secret", "WeCom robots are not signed: send no secret")
    return None


def webhook_hint(url: str) -> str:
    """What may be shown of a webhook: scheme, host and path, and the token's last 4
    characters (``https://oapi.dingtalk.com/robot/send?…c0ffee`` → ``…ffee``)."""
    parts = urlsplit(url)
    tail = parts.query[-4:] if len(parts.query) > 12 else ""
    hint = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return f"{hint}?…{tail}" if tail else hint


def calendar_problem(
    year: int, holidays: list[tuple[str, str]], working_days: list[tuple[str, str]]
) -> Problem | None:
    """A year's holidays and adjusted working days: ISO dates of that year, each day listed
    once, adjusted working days on a Saturday or Sunday, names at most 200 characters."""
    if not 1970 <= year <= 2200:
        return ("invalid_year", "year must be 1970..2200")
    if len(holidays) + len(working_days) > MAX_CALENDAR_DAYS:
        return ("too_many_days", f"at most {MAX_CALENDAR_DAYS} days per year")
    seen: set[date] = set()
    for kind, days in ((HOLIDAY, holidays), (WORKING_DAY, working_days)):
        for text, name in days:
            day = parse_day(text)
            if day is None:
                return ("invalid_date", f"{text!r} is not an ISO date (YYYY-MM-DD)")
            if day.year != year:
                return ("date_outside_year", f"{text} is not in {year}")
            if day in seen:
                return ("duplicate_date", f"{text} is listed twice")
            if kind == WORKING_DAY and day.weekday() < 5:
                return (
                    "working_day_not_weekend",
                    f"{text} is a weekday: an adjusted working day is a Saturday or Sunday",
                )
            if len(name) > MAX_DAY_NAME:
                return ("name_too_long", f"a day's name is longer than {MAX_DAY_NAME} characters")
            seen.add(day)
    return None


def policy_problem(time_zone: str, quiet_start: str, quiet_end: str) -> Problem | None:
    try:
        zone(time_zone)
    except ValueError:
        return ("invalid_time_zone", f"unknown time zone {time_zone!r}")
    for value in (quiet_start, quiet_end):
        try:
            parse_clock(value)
        except ValueError:
            return ("invalid_quiet_hours", f"quiet hours are HH:MM (00:00..23:59), got {value!r}")
    return None
