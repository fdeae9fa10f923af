"""Pure rules of robots, the calendar and the notification policy (no I/O).

Each ``*_problem`` function answers ``(code, message)`` for bad input, or None.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from services.common.text import TextError, clean
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


MAX_COURSES = 200
MAX_COURSE_ID = 64
MAX_COURSE_TITLE = 200
MAX_COURSE_TOPICS = 20
MAX_TOPIC = 64
MAX_COURSE_URL = 1000


def _unprintable(text: str) -> bool:
    """Control or bidirectional-override characters (services/common/text.py refuses them)."""
    try:
        clean(text)
    except TextError:
        return True
    return False


def courses_problem(courses: list[tuple[str, str, str, list[str], str]]) -> Problem | None:
    """HR's catalogue: (id, title_zh, title_en, topics, url) each; ids 1..64 characters of
    letters, digits, ``-``, ``_`` or ``.``, each once; both titles 1..200 characters; at most
    20 topics of 1..64 characters; the url empty or an absolute https URL."""
    if len(courses) > MAX_COURSES:
        return ("too_many_courses", f"at most {MAX_COURSES} courses")
    seen: set[str] = set()
    for course_id, title_zh, title_en, topics, url in courses:
        if not 1 <= len(course_id) <= MAX_COURSE_ID or not all(
            c.isascii() and (c.isalnum() or c in "-_.") for c in course_id
        ):
            return (
                "invalid_course_id",
                f"a course id is 1..{MAX_COURSE_ID} letters, digits, '-', '_' or '.'",
            )
        if course_id in seen:
            return ("duplicate_course", f"course {course_id} is listed twice")
        seen.add(course_id)
        for title in (title_zh, title_en):
            if not title.strip() or len(title) > MAX_COURSE_TITLE or _unprintable(title):
                return (
                    "invalid_course_title",
                    f"title_zh and title_en must be 1..{MAX_COURSE_TITLE} characters",
                )
        if len(topics) > MAX_COURSE_TOPICS or any(
            not t.strip() or len(t) > MAX_TOPIC or _unprintable(t) for t in topics
        ):
            return (
                "invalid_course_topics",
                f"at most {MAX_COURSE_TOPICS} topics of 1..{MAX_TOPIC} characters",
            )
        if url:
            if len(url) > MAX_COURSE_URL or any(ch.isspace() for ch in url):
                return ("invalid_course_url", "url must be an https URL")
            try:
                parts = urlsplit(url)
            except ValueError:
                return ("invalid_course_url", "url must be an https URL")
            if parts.scheme != "https" or not parts.hostname:
                return ("invalid_course_url", "url must be an https URL")
    return None
