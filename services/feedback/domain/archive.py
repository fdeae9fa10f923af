"""Pure rules of the performance archive and calibration (no I/O).

- :func:`performance_level`: a rating on the 9-box's performance axis (S, A → high; B →
  medium; C, D → low);
- :func:`nine_box`: people placed by performance (the final rating, else the manager's) ×
  potential;
- :func:`distribution`: how many records have each rating, their share, HR's target share;
- :func:`trend`: per cycle the OKR score's change and the rating's direction against the
  previous cycle;
- :func:`can_read`: who reads whose archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from services.common.errors import InvalidArgument
from workflows.vocabulary import NINE_BOX_LEVELS, RATINGS

LOW, MEDIUM, HIGH = NINE_BOX_LEVELS
# RATINGS best first: the two best are high, the middle one medium, the two worst low.
_PERFORMANCE = dict(zip(RATINGS, (HIGH, HIGH, MEDIUM, LOW, LOW), strict=True))
# Roles that read and calibrate everyone's archive.
ARCHIVE_READERS = frozenset({"hr", "admin"})
UP, DOWN, SAME = "up", "down", "same"


def checked_rating(value: str, field: str = "rating", *, allow_empty: bool = False) -> str:
    if value == "" and allow_empty:
        return value
    if value not in RATINGS:
        raise InvalidArgument(f"invalid_{field}", f"{field} is one of {', '.join(RATINGS)}")
    return value


def checked_potential(value: str, *, allow_empty: bool = True) -> str:
    if value == "" and allow_empty:
        return value
    if value not in NINE_BOX_LEVELS:
        raise InvalidArgument(
            "invalid_potential", f"potential is one of {', '.join(NINE_BOX_LEVELS)}"
        )
    return value


def performance_level(rating: str) -> str:
    """The 9-box performance level of a rating ("" for none)."""
    return _PERFORMANCE.get(rating, "")


def effective_rating(final_rating: str, manager_rating: str) -> str:
    """What calibration places and counts: the final rating, else the manager's."""
    return final_rating or manager_rating


@dataclass(frozen=True)
class Placed:
    employee_id: str
    rating: str  # effective rating ("" = none)
    potential: str  # "" = none


def nine_box(people: Iterable[Placed]) -> tuple[dict[tuple[str, str], list[str]], list[str]]:
    """((performance, potential) → employee ids, unplaced ids). All nine cells are present;
    someone without a rating or a potential is unplaced."""
    cells: dict[tuple[str, str], list[str]] = {
        (perf, pot): [] for perf in reversed(NINE_BOX_LEVELS) for pot in NINE_BOX_LEVELS
    }
    unplaced: list[str] = []
    for p in people:
        perf = performance_level(p.rating)
        if perf and p.potential in NINE_BOX_LEVELS:
            cells[(perf, p.potential)].append(p.employee_id)
        else:
            unplaced.append(p.employee_id)
    return cells, unplaced


@dataclass(frozen=True)
class RatingShare:
    rating: str
    count: int
    share: float
    target: float | None


def distribution(ratings: Iterable[str], guidance: Mapping[str, float]) -> list[RatingShare]:
    """Per rating (best first): count, share of the rated ("" ratings are not counted) and
    HR's target share (None without one). Guidance is shown, never enforced."""
    counts = dict.fromkeys(RATINGS, 0)
    for r in ratings:
        if r in counts:
            counts[r] += 1
    rated = sum(counts.values())
    return [
        RatingShare(r, n, (n / rated) if rated else 0.0, guidance.get(r)) for r, n in counts.items()
    ]


def checked_guidance(shares: Mapping[str, float]) -> dict[str, float]:
    """Target shares: known ratings, each 0..1, summing to at most 1 ({} clears)."""
    out: dict[str, float] = {}
    for rating, share in shares.items():
        checked_rating(rating, "guidance_rating")
        if not 0.0 <= share <= 1.0:
            raise InvalidArgument("invalid_guidance_share", "a target share is between 0 and 1")
        out[rating] = float(share)
    if sum(out.values()) > 1.0 + 1e-9:
        raise InvalidArgument("invalid_guidance_total", "the target shares add up to at most 1")
    return out


@dataclass(frozen=True)
class Point:
    okr_score: float | None
    rating: str  # effective rating


@dataclass(frozen=True)
class Trend:
    score_delta: float | None
    rating_direction: str  # up | down | same | ""


def rating_direction(previous: str, current: str) -> str:
    if previous not in RATINGS or current not in RATINGS:
        return ""
    if previous == current:
        return SAME
    # RATINGS are best first: a smaller index is better.
    return UP if RATINGS.index(current) < RATINGS.index(previous) else DOWN


def trend(points: Sequence[Point]) -> list[Trend]:
    """Per cycle (oldest first): the score change and rating direction against the previous
    cycle (None / "" for the first cycle, or when either side is missing)."""
    out: list[Trend] = []
    for i, p in enumerate(points):
        if i == 0:
            out.append(Trend(None, ""))
            continue
        prev = points[i - 1]
        delta = (
            round(p.okr_score - prev.okr_score, 4)
            if p.okr_score is not None and prev.okr_score is not None
            else None
        )
        out.append(Trend(delta, rating_direction(prev.rating, p.rating)))
    return out


def can_read(
    viewer_id: str, viewer_roles: Iterable[str], employee_id: str, managers: Sequence[str]
) -> bool:
    """The employee themselves, anyone above them in the reporting line, HR and admins."""
    return (
        viewer_id == employee_id
        or viewer_id in managers
        or bool(ARCHIVE_READERS & frozenset(viewer_roles))
    )
