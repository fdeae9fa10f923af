"""The upper rungs of the escalation ladder (pure: no I/O, used by ``kr-escalation/<kr>``).

Rung 3, *skip_level*: the key result has been red for :attr:`LadderPolicy.skip_level_days`
working days (the organisation's calendar: weekends, holidays and 调休 days) with no new
check-in: the owner's manager's manager (the second active manager of identity's manager
chain) gets an inbox item and an e-mail (template ``kr.skip_level``).

Rung 4, *hr*: red for a further :attr:`LadderPolicy.hr_days` working days without a new
check-in: everyone with the ``hr`` role is told (template ``kr.hr``), with the training
courses of HR's catalogue that fit when the same owner was behind (at risk at least once) on
a comparable key result in an earlier cycle (:func:`recommend_courses`).

A check-in for a week not seen before (any ``risk_assessed`` signal) restarts the count of
the rung that is next. The defaults (3 and 5 working days) are the worker's settings
``STRIDE_ESCALATION_SKIP_LEVEL_DAYS`` and ``STRIDE_ESCALATION_HR_DAYS``, read once per
escalation through the ``ladder_policy`` activity (so a run keeps the numbers it started
with when the settings change).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Activities (activities/escalation.py).
LADDER_POLICY_ACTIVITY = "ladder_policy"
SKIP_LEVEL_ACTIVITY = "skip_level_manager"
HR_NOTICE_ACTIVITY = "hr_notice_recipients"

RUNG_SKIP_LEVEL = "skip_level"
RUNG_HR = "hr"
ROLE_SKIP_LEVEL = "skip_level"
ROLE_HR = "hr"

DEFAULT_SKIP_LEVEL_DAYS = 3
DEFAULT_HR_DAYS = 5
# At most this many courses in one HR notice.
MAX_COURSES = 3


@dataclass
class LadderPolicy:
    skip_level_days: int = DEFAULT_SKIP_LEVEL_DAYS
    hr_days: int = DEFAULT_HR_DAYS


@dataclass
class SkipLevelInput:
    owner_id: str


@dataclass
class SkipLevel:
    owner_id: str
    # The owner's manager's manager (second active manager of the chain); "" when none.
    skip_level_id: str = ""


@dataclass
class HrNoticeInput:
    owner_id: str
    key_result_id: str
    cycle_id: str
    department_id: str
    unit: str = ""


@dataclass
class Course:
    id: str
    title_zh: str
    title_en: str
    url: str = ""
    # Topic keywords or key result kinds ("number", "percentage", "currency", "boolean",
    # "milestone") or units the course is about; empty: a general course.
    topics: list[str] = field(default_factory=list)


@dataclass
class HrNotice:
    # Active employees with the hr role.
    hr_ids: list[str] = field(default_factory=list)
    # Earlier-cycle key results of the owner, comparable to this one, that were at risk.
    behind_before: list[str] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)


@dataclass
class KeyResultProfile:
    """What makes two key results comparable, and what a course can be about."""

    id: str
    cycle_id: str
    department_id: str
    unit: str = ""
    kind: str = ""
    # At risk in at least one check-in.
    was_at_risk: bool = False


def comparable(current: KeyResultProfile, other: KeyResultProfile) -> bool:
    """An earlier key result is comparable to ``current`` when it is of another cycle and
    measured in the same unit (case-insensitive, non-empty) or owned in the same department."""
    if other.id == current.id or other.cycle_id == current.cycle_id:
        return False
    same_unit = bool(current.unit.strip()) and (
        current.unit.strip().lower() == other.unit.strip().lower()
    )
    same_department = bool(current.department_id) and current.department_id == other.department_id
    return same_unit or same_department


def behind_before(current: KeyResultProfile, history: list[KeyResultProfile]) -> list[str]:
    """Ids of the comparable earlier key results that were at risk, in the given order."""
    return [kr.id for kr in history if kr.was_at_risk and comparable(current, kr)]


def recommend_courses(
    current: KeyResultProfile, history: list[KeyResultProfile], catalogue: list[Course]
) -> list[Course]:
    """The courses to recommend to HR: none unless the owner was behind on a comparable key
    result before; then the courses whose topics name the key result's kind or unit (or, when
    none does, the general courses: those without topics), catalogue order, at most
    :data:`MAX_COURSES`."""
    if not behind_before(current, history):
        return []
    keys = {k.strip().lower() for k in (current.kind, current.unit) if k.strip()}
    matching = [c for c in catalogue if keys & {t.strip().lower() for t in c.topics}]
    if not matching:
        matching = [c for c in catalogue if not c.topics]
    return matching[:MAX_COURSES]


def courses_text(courses: list[Course]) -> tuple[str, str]:
    """The recommended courses as a zh-CN and an en line for the ``kr.hr`` template."""
    if not courses:
        return "无", "none"
    zh = ";".join(f"{c.title_zh}({c.url})" if c.url else c.title_zh for c in courses)
    en = "; ".join(f"{c.title_en} ({c.url})" if c.url else c.title_en for c in courses)
    return zh, en
