"""The month-end department brief's figures (pure: plain data in → figures out, no I/O).

The ``report/monthly/<yyyy-mm>`` workflow's collect activity gathers plain rows from the goals,
feedback and identity APIs (:class:`BriefData`); everything a brief shows is computed here so
that each number can be checked by hand (tests/unit/test_brief_figures.py) and the renderer
only lays figures out.

Why these definitions:
- *completion* is the share of a department's key results scored 1.0 (done), the *score
  distribution* counts key results in the four bands the scoring guide uses (0–0.3 missed,
  0.3–0.7 progress, 0.7–1.0 delivered, 1.0 done); scores are goals' (``GetScores``).
- *at risk* is goals' risk status ``at_risk``; *red* is the escalation ladder's level 2
  (:mod:`workflows.kr_escalation`): at risk with an open blocker naming another department.
  Both are listed with their open blockers.
- *participation* per ISO week is people of the department who checked in that week / people
  of the department (the month's weeks: those whose Thursday falls in the month, the ISO rule
  for which month a week belongs to).
- *alignment* is the share of the department's non-company objectives that have a parent.
- *feedback frequency* is feedback given by the department's people in the month per person.
- the *trend* compares completion and mean score with last month's stored figures: ``up`` /
  ``down`` / ``flat`` (a change under half a percentage point is flat), ``new`` without them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from workflows.vocabulary import Risk, month_bounds, week_of

# Score bands (lower bound inclusive): missed, progress, delivered, done.
BANDS: tuple[str, ...] = ("missed", "progress", "delivered", "done")
PROGRESS_FROM = 0.3
DELIVERED_FROM = 0.7
DONE_FROM = 1.0
# A change of completion or mean score smaller than this is "flat".
TREND_EPSILON = 0.005

TREND_UP = "up"
TREND_DOWN = "down"
TREND_FLAT = "flat"
TREND_NEW = "new"


def previous_month(month: str) -> str:
    """``2026-01`` → ``2025-12``."""
    bounds = month_bounds(month)
    if bounds is None:
        raise ValueError(f"not a month: {month!r}")
    before = bounds[0] - timedelta(days=1)
    return f"{before.year:04d}-{before.month:02d}"


def month_weeks(month: str) -> list[str]:
    """The ISO weeks that belong to ``month``: those whose Thursday falls in it."""
    bounds = month_bounds(month)
    if bounds is None:
        raise ValueError(f"not a month: {month!r}")
    first, last = bounds
    day = first + timedelta(days=(3 - first.weekday()) % 7)  # the first Thursday
    weeks = []
    while day <= last:
        weeks.append(week_of(day))
        day += timedelta(days=7)
    return weeks


def band(score: float) -> str:
    """The score band of a key result's score (0..1)."""
    if score >= DONE_FROM:
        return "done"
    if score >= DELIVERED_FROM:
        return "delivered"
    if score >= PROGRESS_FROM:
        return "progress"
    return "missed"


@dataclass
class Department:
    id: str
    name: str
    head_id: str = ""


@dataclass
class KeyResultRow:
    id: str
    title: str
    department_id: str
    score: float
    risk_status: str = Risk.NO_DATA.value
    red: bool = False
    # Open blockers' texts.
    blockers: list[str] = field(default_factory=list)


@dataclass
class BriefData:
    """What the collect activity gathered for one month (plain rows, no protobuf)."""

    month: str
    departments: list[Department]
    key_results: list[KeyResultRow]
    # department id → people in it.
    headcount: dict[str, int]
    # department id → {ISO week → people of the department who checked in that week}.
    checked_in: dict[str, dict[str, int]]
    # department id → (objectives with a parent, non-company objectives).
    alignment: dict[str, tuple[int, int]]
    # department id → feedback given by its people in the month.
    feedback_given: dict[str, int]
    # department id → last month's figures (as stored with last month's brief), if any.
    previous: dict[str, PreviousFigures] = field(default_factory=dict)


@dataclass
class PreviousFigures:
    completion: float
    mean_score: float


@dataclass
class RiskRow:
    key_result_id: str
    title: str
    red: bool
    blockers: list[str]


@dataclass
class BoardRow:
    """A row of the cross-department objective board."""

    key_result_id: str
    title: str
    department_id: str
    department_name: str
    risk_status: str
    score: float
    trend: str


@dataclass
class DepartmentFigures:
    department_id: str
    department_name: str
    month: str
    key_results: int
    completion: float
    mean_score: float
    # band → key results in it, in BANDS order.
    distribution: dict[str, int]
    at_risk: int
    red: int
    risks: list[RiskRow]
    # ISO week → share of people who checked in (0..1), in week order.
    participation: dict[str, float]
    alignment: float
    feedback_per_person: float
    trend: str
    completion_change: float
    mean_score_change: float


def ratio(part: float, whole: float) -> float:
    """part / whole, 0 for an empty whole."""
    return part / whole if whole else 0.0


def trend(now: float, before: float | None) -> str:
    """``up`` / ``down`` / ``flat`` against last month; ``new`` without last month."""
    if before is None:
        return TREND_NEW
    if now - before >= TREND_EPSILON:
        return TREND_UP
    if before - now >= TREND_EPSILON:
        return TREND_DOWN
    return TREND_FLAT


def department_figures(data: BriefData, department: Department) -> DepartmentFigures:
    """One department's figures for ``data.month``."""
    rows = [kr for kr in data.key_results if kr.department_id == department.id]
    distribution = dict.fromkeys(BANDS, 0)
    for kr in rows:
        distribution[band(kr.score)] += 1
    completion = ratio(distribution["done"], len(rows))
    mean_score = ratio(sum(kr.score for kr in rows), len(rows))
    at_risk = [kr for kr in rows if kr.risk_status == Risk.AT_RISK.value]
    people = data.headcount.get(department.id, 0)
    weekly = data.checked_in.get(department.id, {})
    aligned, objectives = data.alignment.get(department.id, (0, 0))
    before = data.previous.get(department.id)
    # The completion trend decides; a flat completion falls back to the mean score's.
    headline = trend(completion, before.completion if before else None)
    if headline == TREND_FLAT and before is not None:
        headline = trend(mean_score, before.mean_score)
    return DepartmentFigures(
        department_id=department.id,
        department_name=department.name,
        month=data.month,
        key_results=len(rows),
        completion=completion,
        mean_score=mean_score,
        distribution=distribution,
        at_risk=len(at_risk),
        red=sum(1 for kr in at_risk if kr.red),
        risks=[
            RiskRow(kr.id, kr.title, kr.red, list(kr.blockers))
            for kr in sorted(at_risk, key=lambda kr: (not kr.red, kr.title, kr.id))
        ],
        participation={
            week: ratio(min(weekly.get(week, 0), people), people)
            for week in month_weeks(data.month)
        },
        alignment=ratio(aligned, objectives),
        feedback_per_person=ratio(data.feedback_given.get(department.id, 0), people),
        trend=headline,
        completion_change=completion - before.completion if before else 0.0,
        mean_score_change=mean_score - before.mean_score if before else 0.0,
    )


def board(data: BriefData, figures: list[DepartmentFigures]) -> list[BoardRow]:
    """The cross-department objective board: a row per key result (department, then title),
    with its department's trend."""
    names = {d.id: d.name for d in data.departments}
    trends = {f.department_id: f.trend for f in figures}
    rows = sorted(data.key_results, key=lambda kr: (names.get(kr.department_id, ""), kr.title))
    return [
        BoardRow(
            key_result_id=kr.id,
            title=kr.title,
            department_id=kr.department_id,
            department_name=names.get(kr.department_id, kr.department_id),
            risk_status=kr.risk_status,
            score=kr.score,
            trend=trends.get(kr.department_id, TREND_NEW),
        )
        for kr in rows
    ]


def all_figures(data: BriefData) -> list[DepartmentFigures]:
    """Every department's figures, in the order of ``data.departments``."""
    return [department_figures(data, d) for d in data.departments]


def brief_json(figures: DepartmentFigures, rows: list[BoardRow], left_off: int = 0) -> str:
    """A department's stored figures (goals' monthly_briefs.figures_json): the figures and
    the board rows its brief shows."""
    return json.dumps(
        {
            "figures": asdict(figures),
            "board": [asdict(r) for r in rows],
            "board_left_off": left_off,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def parse_brief_json(text: str) -> tuple[DepartmentFigures, list[BoardRow], int]:
    """The inverse of :func:`brief_json` (ValueError/KeyError/TypeError for anything else)."""
    data = json.loads(text)
    raw = dict(data["figures"])
    raw["risks"] = [RiskRow(**r) for r in raw["risks"]]
    return (
        DepartmentFigures(**raw),
        [BoardRow(**r) for r in data["board"]],
        int(data.get("board_left_off", 0)),
    )


def previous_of(text: str) -> PreviousFigures | None:
    """Last month's completion and mean score from its stored figures; None if unreadable."""
    try:
        figures, _, _ = parse_brief_json(text)
    except (ValueError, KeyError, TypeError):
        return None
    return PreviousFigures(figures.completion, figures.mean_score)
