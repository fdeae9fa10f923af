"""Promotion review rules (pure): eligibility against HR's rules, who may apply, who may read
a case, and the rules' own validation. The conflict-of-interest rule is shared with the
workflow's validators: :func:`workflows.promotion_rules.conflicted`.

Eligibility (:func:`eligibility_reasons`), every reason that applies, in this order:

- ``not_enough_ratings``: fewer than ``ratings_count`` final ratings in the archive;
- ``rating_below_minimum``: one of the newest ``ratings_count`` final ratings is worse than
  ``min_rating`` (RATINGS, best first: S, A, B, C, D);
- ``hire_date_unknown``: a minimum tenure is set and identity has no hire date;
- ``tenure_too_short``: fewer full months than ``min_tenure_months`` since the hire date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.common.errors import InvalidArgument
from services.feedback.domain.rounds import permission_denied
from workflows.promotion_rules import conflicted
from workflows.vocabulary import GRADE_PATTERN, MAX_ELIGIBILITY_RATINGS, MAX_TENURE_MONTHS, RATINGS

REASON_NOT_ENOUGH_RATINGS = "not_enough_ratings"
REASON_RATING_BELOW = "rating_below_minimum"
REASON_HIRE_DATE_UNKNOWN = "hire_date_unknown"
REASON_TENURE = "tenure_too_short"
GRADE = re.compile(GRADE_PATTERN, re.ASCII)
# Granted role that runs promotion reviews (names panels, investigates, decides).
HR_ROLE = "hr"

__all__ = ["conflicted"]


@dataclass(frozen=True)
class Rules:
    """HR's eligibility rules (defaults: the last two final ratings B or better, a year)."""

    min_rating: str = "B"
    ratings_count: int = 2
    min_tenure_months: int = 12


def full_months(since: date, today: date) -> int:
    """Whole months from ``since`` to ``today`` (2025-03-31 → 2025-04-30: 0; → 05-01: 1)."""
    months = (today.year - since.year) * 12 + today.month - since.month
    if today.day < since.day:
        months -= 1
    return max(0, months)


def eligibility_reasons(
    ratings: list[tuple[date, str]], hire_date: date | None, today: date, rules: Rules
) -> list[str]:
    """Why the candidate is not eligible (``[]``: eligible). ``ratings``: (cycle end, final
    rating), newest first, as the archive gives them."""
    reasons: list[str] = []
    recent = [r for _, r in sorted(ratings, key=lambda x: x[0], reverse=True)][
        : rules.ratings_count
    ]
    if len(recent) < rules.ratings_count:
        reasons.append(REASON_NOT_ENOUGH_RATINGS)
    limit = RATINGS.index(rules.min_rating)
    if any(r not in RATINGS or RATINGS.index(r) > limit for r in recent):
        reasons.append(REASON_RATING_BELOW)
    if rules.min_tenure_months > 0:
        if hire_date is None:
            reasons.append(REASON_HIRE_DATE_UNKNOWN)
        elif full_months(hire_date, today) < rules.min_tenure_months:
            reasons.append(REASON_TENURE)
    return reasons


def checked_rules(min_rating: str, ratings_count: int, min_tenure_months: int) -> Rules:
    if min_rating not in RATINGS:
        raise InvalidArgument("invalid_min_rating", f"min_rating must be one of {RATINGS}")
    if not 0 <= ratings_count <= MAX_ELIGIBILITY_RATINGS:
        raise InvalidArgument(
            "invalid_ratings_count", f"ratings_count must be 0..{MAX_ELIGIBILITY_RATINGS}"
        )
    if not 0 <= min_tenure_months <= MAX_TENURE_MONTHS:
        raise InvalidArgument(
            "invalid_min_tenure", f"min_tenure_months must be 0..{MAX_TENURE_MONTHS}"
        )
    return Rules(min_rating, ratings_count, min_tenure_months)


def checked_grade(value: str, field: str) -> str:
    grade = value.strip()
    if not GRADE.match(grade):
        raise InvalidArgument(f"invalid_{field}", f"{field} must be a grade code such as P5")
    return grade


def ensure_may_apply(applicant_id: str, candidate_id: str, candidate_manager_id: str) -> None:
    """The candidate applies for themself, or their current direct manager for them."""
    if applicant_id not in {candidate_id, candidate_manager_id}:
        raise permission_denied(
            "not_candidate_or_manager",
            "only the candidate or their direct manager may apply for a promotion",
        )


def involved(
    viewer_id: str, candidate_id: str, applicant_id: str, manager_id: str, panel: list[str]
) -> bool:
    """Whether the viewer takes part in the case (and may read it without being HR)."""
    return viewer_id in {candidate_id, applicant_id, manager_id} or viewer_id in panel
