"""Stride's vocabulary: the words and limits every layer shares, defined once.

Phases, statuses, risk names, the kinds of key results, the limits of what a client may
send, the ISO-week format and the cycle's default deadlines are imported from here by the
gateway (schemas, validation), the services (domain rules, storage) and the workflows
(which is why this module lives in ``workflows/``: it is pure, deterministic and safe inside
the workflow sandbox, and workflows may not import ``services``).
tests/unit/test_vocabulary.py checks that nobody defines these words again.

Longer than ~400 lines on purpose: being the one place these words are defined is its job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType


class Phase(StrEnum):
    """Phase of an OKR cycle, in order."""

    PLANNING = "planning"
    APPROVAL = "approval"
    EXECUTION = "execution"
    CLOSING = "closing"
    ARCHIVED = "archived"


PHASES: tuple[str, ...] = tuple(p.value for p in Phase)


class ObjectiveStatus(StrEnum):
    """Objective status: draft → pending_approval → approved → closed."""

    DRAFT = "draft"
    PENDING = "pending_approval"
    APPROVED = "approved"
    CLOSED = "closed"


class Risk(StrEnum):
    """A key result's risk status (services/goals/risk.py decides which)."""

    NO_DATA = "no_data"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    AT_RISK = "at_risk"
    # Machine-fed, and its source silent for longer than its metric's expected interval.
    STALE = "stale"


RISK_STATUSES: frozenset[str] = frozenset(r.value for r in Risk)


class Level(StrEnum):
    """Where an objective sits: company (not counted in alignment), department, team, person."""

    COMPANY = "company"
    DEPARTMENT = "department"
    TEAM = "team"
    INDIVIDUAL = "individual"


class Kind(StrEnum):
    """What a key result measures."""

    NUMBER = "number"
    PERCENTAGE = "percentage"
    CURRENCY = "currency"
    BOOLEAN = "boolean"
    MILESTONE = "milestone"


class Direction(StrEnum):
    """Which way a key result's value should go."""

    INCREASE = "increase"
    DECREASE = "decrease"
    STAY_WITHIN = "stay_within"


class ApprovalStatus(StrEnum):
    """A plan's or a target revision's approval: pending → approved or rejected."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


LEVELS: tuple[str, ...] = tuple(level.value for level in Level)
VISIBILITIES = ("restricted", "public")
KINDS: tuple[str, ...] = tuple(kind.value for kind in Kind)
DIRECTIONS: tuple[str, ...] = tuple(direction.value for direction in Direction)
DATA_SOURCE_MANUAL = "manual"
# Fed by the telemetry service (RecordMachineValue); people do not check in on it.
DATA_SOURCE_TELEMETRY = "telemetry"
DATA_SOURCES = (DATA_SOURCE_MANUAL, DATA_SOURCE_TELEMETRY)
# ``recorded_by`` of a machine-fed check-in (the key result's history marks it machine-fed).
MACHINE_RECORDED_BY = "telemetry"
# A machine-fed check-in keeps at most one history version per key result per this long.
MACHINE_VERSION_SECONDS = 60
APPROVAL_STATUSES: tuple[str, ...] = tuple(status.value for status in ApprovalStatus)

# Limits of what a client may send (the gateway's schemas and goals' domain enforce the same).
MAX_TITLE = 300
MAX_NOTE = 4000
MAX_UNIT = 32
MAX_PROJECT = 200
# A cycle lasts at most this many days (a year and a month: a yearly cycle with slack).
MAX_CYCLE_DAYS = 400
MAX_KEY_RESULTS = 20
MAX_MILESTONES = 50
MAX_PLAN_POINTS = 60
MAX_BLOCKERS = 10
MAX_BLOCKER_TEXT = 1000
# A dashboard names at most this many departments (a whole organisation asks for all): the
# top manager of 100,000 people reaches ~5,500 (bench/reports.py), the ids of 10,000 are
# ~400 KB of request, under both engines' bind-parameter limits (32,766).
MAX_DASHBOARD_DEPARTMENTS = 10_000
# ... and at most this many people counted one by one (reports outside whole departments).
MAX_DASHBOARD_PEOPLE = 5000
MAX_CHECKLIST_ITEMS = 30
MAX_LABEL = 200
MAX_BULK_CHECK_INS = 100
# The languages Stride writes in: a person's preferred language for their e-mail (none:
# both, Chinese first), an IM robot's language.
LANGUAGES = ("zh-CN", "en")
# Risk rule sets (services/goals/risk_rules.py): the numbers HR may choose within. Below 5 %
# every wobble is "behind", above 90 % nothing is.
MIN_RISK_THRESHOLD = 0.05
MAX_RISK_THRESHOLD = 0.9
MIN_RISK_WEEKS = 1
MAX_RISK_WEEKS = 8
MAX_RISK_OVERRIDES = 500
# A check-in import file (CSV or XLSX, HR backfilling past weeks): its size and data rows.
MAX_IMPORT_BYTES = 1024 * 1024
# An org file uploaded for a sync (POST /org/sync/uploads).
MAX_ORG_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
MAX_COMMENT = 4000

# An ISO week such as 2026-W48: ASCII digits only (``\d`` and ``int()`` would accept other
# scripts' digits, so "٢٠٢٦-W49" or "２０２６-W49" would become weeks of their own).
WEEK_PATTERN = r"^([0-9]{4})-W([0-9]{2})$"
WEEK = re.compile(WEEK_PATTERN, re.ASCII)
# A calendar date such as 2026-03-31: the extended ISO form with ASCII digits only. Python's
# date.fromisoformat also takes 20260331 and 2026-W14-2, pydantic takes Unix timestamps and
# midnight datetimes; the API takes none of those.
DATE_PATTERN = r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$"
DATE = re.compile(DATE_PATTERN, re.ASCII)


def week_bounds(week: str) -> tuple[date, date] | None:
    """Monday and Sunday of an ISO week such as ``2026-W48`` (None if it is not one)."""
    match = WEEK.fullmatch(week)
    if not match:
        return None
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        return None
    return monday, monday + timedelta(days=6)


def parse_day(text: str) -> date | None:
    """The date ``YYYY-MM-DD`` names (None for anything else, e.g. ``2026-02-30``)."""
    if not DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def week_of(day: date) -> str:
    """The ISO week of a date, e.g. ``2026-W48``."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


# The type of the ApplicationError a workflow fails with when its input can never work (a
# cycle in the year 9999, a timestamp without an offset): non-retryable, so the run ends
# FAILED with this type and a readable message in the Temporal UI instead of retrying its
# workflow task forever.
INVALID_INPUT_ERROR = "InvalidInput"

# The organisation's time zone when none is configured or given (calendars, cycles, reminders).
DEFAULT_TIME_ZONE = "Asia/Shanghai"

# A cycle's deadlines when none are given: planning a week in, approval two weeks in (both
# no later than the cycle's end), closing a week after the end.
PLANNING_DAYS = 7
APPROVAL_DAYS = 14
CLOSING_DAYS = 7


# Every date of a cycle (its days and deadlines) lies in these years: anything else is a typo
# (0001, 9999), and the cycle's calendar (a closing deadline a week after the end, reminders,
# workflow timers in UTC) must stay within what a date can hold.
FIRST_CYCLE_YEAR = 2000
LAST_CYCLE_YEAR = 2100


def cycle_dates_problem(start: date, end: date, *deadlines: date | None) -> tuple[str, str] | None:
    """Why a cycle cannot have these dates, as (stable code, message); None when it can.

    Every date (the days and the deadlines given) in FIRST_CYCLE_YEAR..LAST_CYCLE_YEAR, the
    end after the start, at most MAX_CYCLE_DAYS from start to end. The gateway, goals and the
    cycle workflow apply this one rule.
    """
    for day in (start, end, *deadlines):
        if day is not None and not FIRST_CYCLE_YEAR <= day.year <= LAST_CYCLE_YEAR:
            return (
                "cycle_dates_out_of_range",
                f"cycle dates lie in the years {FIRST_CYCLE_YEAR} to {LAST_CYCLE_YEAR}",
            )
    if end <= start:
        return "invalid_cycle_dates", "end_date must be after start_date"
    if (end - start).days > MAX_CYCLE_DAYS:
        return "cycle_too_long", f"a cycle spans at most {MAX_CYCLE_DAYS} days"
    return None


def default_deadlines(start: date, end: date) -> tuple[date, date, date]:
    """Planning, approval and closing deadlines when none are given."""
    planning = min(start + timedelta(days=PLANNING_DAYS), end)
    approval = min(start + timedelta(days=APPROVAL_DAYS), end)
    return planning, max(approval, planning), end + timedelta(days=CLOSING_DAYS)


def deadlines(
    start: date,
    end: date,
    planning: date | None = None,
    approval: date | None = None,
    closing: date | None = None,
) -> tuple[date, date, date]:
    """Planning, approval and closing deadlines: those given, the defaults for the others.

    An approval deadline left out is never before the planning deadline. Goals validates the
    result (within the cycle, in order); the cycle workflow plans its steps on it, so both
    agree on a cycle created without deadlines.
    """
    default_planning, default_approval, default_closing = default_deadlines(start, end)
    planning = planning or default_planning
    approval = approval or max(default_approval, planning)
    return planning, approval, closing or default_closing


# -- single values: names, confidence, weights, codes ----------------------------------------
# Names of people, departments and other short labels.
MAX_NAME = 200
# The numbers of a key result (baseline, target, bounds, check-in values) lie in
# 0..MAX_AMOUNT: a trillion holds any count, quantity or sum of money a plant plans with, and
# keeps every share computed from them a finite number.
MAX_AMOUNT = 1e12
# A percentage key result's numbers lie in 0..PERCENT_MAX.
PERCENT_MAX = 100
# A check-in's confidence runs from 0 (none) to this (certain).
MAX_CONFIDENCE = 10
# An objective's key-result weights total this.
WEIGHT_TOTAL = 100
# A money key result's ISO 4217 currency code, e.g. CNY (a pattern to anchor: ^...$).
CURRENCY_CODE = r"[A-Z]{3}"
# A checklist item's stable id, e.g. "inspection-records".
CHECKLIST_ITEM_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# A line's daily inspection (the department checklist ticked on a shared device) becomes one
# telemetry sample of this metric: source = the department's id, value = the share of the
# checklist's items ticked (0..1; 1 = the inspection record is complete), in this unit.
INSPECTION_METRIC = "inspection_complete"
INSPECTION_UNIT = "ratio"


# -- feedback (services/feedback) -------------------------------------------------------------
# What continuous feedback is about (single words, not a set: "objective" and "key_result"
# name other things elsewhere too; services/feedback/domain groups them).
SUBJECT_PERSON = "person"
SUBJECT_OBJECTIVE = "objective"
SUBJECT_KEY_RESULT = "key_result"
# Private (the author, the person it is about, optionally their manager) or public praise
# with a badge (the person's department and the heads above it).
VISIBILITY_PRIVATE = "private"
VISIBILITY_PRAISE = "praise"
# A request for feedback: open → answered (feedback linked to it) or declined. A goal
# challenge: open → answered by the objective's owner, or resolved by them.
ASK_OPEN = "open"
ASK_ANSWERED = "answered"
ASK_DECLINED = "declined"
CHALLENGE_OPEN = "open"
CHALLENGE_ANSWERED = "answered"
CHALLENGE_RESOLVED = "resolved"
# Anonymous answers (360 rounds) and anonymous upward feedback are released only from this
# many distinct authors: the organisation may raise the threshold, never lower it below 3.
MIN_ANONYMITY_THRESHOLD = 3
DEFAULT_ANONYMITY_THRESHOLD = 3
MAX_ANONYMITY_THRESHOLD = 50
MAX_FEEDBACK_TEXT = 4000
# A badge's stable key, e.g. "digital-pioneer" (a pattern to anchor: ^...$).
BADGE_CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Feedback frequency answers at most this many weeks at once.
MAX_FREQUENCY_WEEKS = 106
# A calendar quarter such as 2026-Q4: the period upward feedback is counted in.
QUARTER_PATTERN = r"^([0-9]{4})-Q([1-4])$"
QUARTER = re.compile(QUARTER_PATTERN, re.ASCII)


def quarter_label(day: date) -> str:
    """The calendar quarter of a date, e.g. ``2026-Q4``."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


# -- 360 feedback rounds (services/feedback, workflows/feedback_round.py) ---------------------
# The fewest raters whose answers to an anonymous question are released as an aggregate:
# MIN_ANONYMITY_THRESHOLD (above; the organisation's setting may raise it, never lower it).
# A round's phases, in order (cancelled ends it early).
ROUND_NOMINATING = "nominating"
ROUND_APPROVED = "approved"
ROUND_COLLECTING = "collecting"
ROUND_CLOSED = "closed"
ROUND_CANCELLED = "cancelled"
ROUND_PHASES = (ROUND_NOMINATING, ROUND_APPROVED, ROUND_COLLECTING, ROUND_CLOSED, ROUND_CANCELLED)
# How a rater stands to the person a round is about.
RELATION_SELF = "self"
RELATION_MANAGER = "manager"
RELATION_PEER = "peer"
RELATION_REPORT = "report"
# Every relation → whether its answers to anonymous questions are only released as aggregates
# (self and manager are one person each: their answers are shown as theirs). A mapping and not a
# tuple of words: "manager" and "report" are also words of other concepts (a role, a query).
RELATION_ANONYMITY: Mapping[str, bool] = MappingProxyType(
    {RELATION_SELF: False, RELATION_MANAGER: False, RELATION_PEER: True, RELATION_REPORT: True}
)
# A rater's standing in a round.
RATER_NOMINATED = "nominated"
RATER_APPROVED = "approved"
RATER_INVITED = "invited"
RATER_ANSWERED = "answered"
RATER_DECLINED = "declined"
RATER_STATUSES = (RATER_NOMINATED, RATER_APPROVED, RATER_INVITED, RATER_ANSWERED, RATER_DECLINED)
# A 360 question asks for a rating (RATING_MIN..RATING_MAX) or a text.
QUESTION_RATING = "rating"
QUESTION_TEXT = "text"
QUESTION_KINDS = (QUESTION_RATING, QUESTION_TEXT)
RATING_MIN = 1
RATING_MAX = 5
# A question template: its questions, the length of a question's wording (per language), and
# of a question's id (a short slug such as "collaboration"; "q1", "q2"... when none is given).
MAX_TEMPLATE_QUESTIONS = 40
MAX_QUESTION_TEXT = 500
QUESTION_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Raters a subject may nominate per relation (direct reports: a foreman's whole shift).
MAX_ROUND_PEERS = 12
MAX_ROUND_REPORTS = 40
# Raters on one round's approved list at most: self, the manager, the peers and the reports.
MAX_ROUND_RATERS = 2 + MAX_ROUND_PEERS + MAX_ROUND_REPORTS

# -- performance archive and calibration (feedback service) -----------------------------------
RATINGS = ("S", "A", "B", "C", "D")  # final/manager ratings, best first
NINE_BOX_LEVELS = ("low", "medium", "high")  # performance and potential axes
# What a calibration change may change on an archive record.
CALIBRATION_FIELDS = ("final_rating", "potential")
MAX_ARCHIVE_COMMENT = 4000
MAX_CALIBRATION_REASON = 1000

# -- talent tags and manager dimensions (services/feedback/domain/talent.py) -------------------
# A praise's tags (what kind of contribution it recognises): "improvement" counts towards
# innovation contribution.
PRAISE_TAG_IMPROVEMENT = "improvement"
PRAISE_TAGS = (PRAISE_TAG_IMPROVEMENT,)
MAX_PRAISE_TAGS = 5
# A high-potential suggestion: open until HR confirms or dismisses it (with a reason).
SUGGESTION_OPEN = "open"
SUGGESTION_CONFIRMED = "confirmed"
SUGGESTION_DISMISSED = "dismissed"
# Stability is judged over at most this many of a person's latest scored cycles.
TALENT_CYCLES = 4
# -- promotion review (feedback service, promotion/<case>) --------------------------------------
# A promotion review's phases (promotion/<case>); the last three end it.
PROMOTION_ELIGIBILITY = "eligibility"
PROMOTION_ENDORSEMENT = "endorsement"
PROMOTION_PANEL = "panel"
PROMOTION_PUBLICITY = "publicity"
PROMOTION_INVESTIGATION = "investigation"
PROMOTION_DECISION = "decision"
PROMOTION_APPROVED = "approved"
PROMOTION_REJECTED = "rejected"
PROMOTION_WITHDRAWN = "withdrawn"
PROMOTION_PHASES = (
    PROMOTION_ELIGIBILITY,
    PROMOTION_ENDORSEMENT,
    PROMOTION_PANEL,
    PROMOTION_PUBLICITY,
    PROMOTION_INVESTIGATION,
    PROMOTION_DECISION,
    PROMOTION_APPROVED,
    PROMOTION_REJECTED,
    PROMOTION_WITHDRAWN,
)
PROMOTION_ENDED = (PROMOTION_APPROVED, PROMOTION_REJECTED, PROMOTION_WITHDRAWN)
# A panel member's score, and the mean a panel must reach for the case to go to publicity.
PROMOTION_SCORE_MIN = 1
PROMOTION_SCORE_MAX = 5
PROMOTION_PASS_SCORE = 3.0
# Scores a panel needs at least (fewer members: all of them), the working days it has to score,
# the publicity period (公示) in working days, the members of one panel at most.
DEFAULT_PROMOTION_QUORUM = 3
DEFAULT_PANEL_WORKING_DAYS = 10
DEFAULT_PUBLICITY_WORKING_DAYS = 5
MAX_PUBLICITY_WORKING_DAYS = 30
MAX_PROMOTION_PANEL = 9
# An objection's status, and what an upheld objection does to the case.
OBJECTION_OPEN = "open"
OBJECTION_UPHELD = "upheld"
OBJECTION_DISMISSED = "dismissed"
OBJECTION_BACK_TO_PANEL = "back_to_panel"
OBJECTION_REJECT = "reject_case"
OBJECTION_OUTCOMES = (OBJECTION_BACK_TO_PANEL, OBJECTION_REJECT)
# A grade code ("P5", "M2"); eligibility rules: how many recent final ratings must be at least
# the minimum rating, and the minimum tenure.
GRADE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$"
MAX_ELIGIBILITY_RATINGS = 8
MAX_TENURE_MONTHS = 600

# Telemetry's NATS subjects: samples arrive on telemetry.ingest.<source>.<metric>, unusable
# ones leave with their reason on telemetry.deadletter.<source>.<metric>.
TELEMETRY_INGEST_PREFIX = "telemetry.ingest."
TELEMETRY_DEADLETTER_PREFIX = "telemetry.deadletter."


def ingest_subject(source: str, metric: str) -> str:
    """``telemetry.ingest.<source>.<metric>``: where a sample is published."""
    return f"{TELEMETRY_INGEST_PREFIX}{source}.{metric}"


# A calendar month as ``yyyy-mm`` (the month-end brief's ``report/monthly/<yyyy-mm>``).
MONTH_PATTERN = r"^([0-9]{4})-(0[1-9]|1[0-2])$"
MONTH = re.compile(MONTH_PATTERN, re.ASCII)


def parse_month(text: str) -> tuple[int, int] | None:
    """``2026-11`` → (2026, 11); None for anything else."""
    found = MONTH.match(text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def month_bounds(month: str) -> tuple[date, date] | None:
    """First and last day of ``yyyy-mm``; None if it is not a month (or outside the years
    Stride's cycles may have)."""
    parsed = parse_month(month)
    if parsed is None:
        return None
    year, number = parsed
    if not FIRST_CYCLE_YEAR <= year <= LAST_CYCLE_YEAR:
        return None
    first = date(year, number, 1)
    following = date(year + (number == 12), number % 12 + 1, 1)
    return first, following - timedelta(days=1)
