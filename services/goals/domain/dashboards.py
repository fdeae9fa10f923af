"""Dashboard figures (pure: no I/O): which departments an event touches, and how per-department
counters add up to a dashboard."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from functools import reduce
from operator import add, attrgetter
from typing import Any

# Key results by score: [0, .25), [.25, .5), [.5, .75), [.75, 1].
SCORE_BAND_EDGES = (0.25, 0.5, 0.75)
SCORE_BANDS = len(SCORE_BAND_EDGES) + 1
# A key result counts as completed from this score on.
COMPLETED = 1.0


def bands_from_cumulative(below_edges: list[int], count: int) -> list[int]:
    """Key results per score band from how many score below each edge (of ``count``)."""
    cumulative = [*below_edges, count]
    return [cumulative[0]] + [cumulative[i] - cumulative[i - 1] for i in range(1, len(cumulative))]


WHOLE_CYCLE = ""


def touched(message: Any) -> set[tuple[str, str]]:
    """(cycle id, department id) pairs whose figures an event may change; department
    ``WHOLE_CYCLE`` for every department of the cycle (an objective's status decides whether
    all its key results count, and they may belong to several departments)."""
    found: set[tuple[str, str]] = set()
    for name in ("key_result", "before"):
        kr = getattr(message, name, None) if _has(message, name) else None
        if kr is not None and hasattr(kr, "objective_id") and kr.cycle_id:
            found.add((kr.cycle_id, kr.department_id))
    for kr in getattr(message, "key_results", ()) if _repeated(message, "key_results") else ():
        found.add((kr.cycle_id, kr.department_id))
    if _has(message, "objective") and message.objective.cycle_id:
        found.add((message.objective.cycle_id, WHOLE_CYCLE))
    if _has(message, "cycle") and message.cycle.id:
        found.add((message.cycle.id, WHOLE_CYCLE))
    if _has(message, "blocker") and message.blocker.cycle_id:  # resolved: red may clear
        blocker = message.blocker
        found.add((blocker.cycle_id, blocker.from_department_id or WHOLE_CYCLE))
    return found


def _has(message: Any, name: str) -> bool:
    fields = message.DESCRIPTOR.fields_by_name
    return name in fields and fields[name].message_type is not None and message.HasField(name)


def _repeated(message: Any, name: str) -> bool:
    return name in message.DESCRIPTOR.fields_by_name


@dataclass
class Figures:
    """Counters of one or more departments (they add up)."""

    key_results: int = 0
    score_sum: float = 0.0
    completed: int = 0
    score_bands: list[int] = field(default_factory=lambda: [0] * SCORE_BANDS)
    behind: int = 0
    at_risk: int = 0
    stale: int = 0
    objectives: int = 0
    alignable_objectives: int = 0
    aligned_objectives: int = 0
    # At risk with an open blocker naming another department (within at_risk).
    red: int = 0
    # Sum of weight x score and of the weights over the key results: the department's score
    # in the cycle's scores (scoring.department_result), read from here by their first page.
    weighted_score_sum: float = 0.0
    weight_sum: int = 0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            if f.name != "score_bands":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.score_bands = [a + b for a, b in zip(self.score_bands, other.score_bands, strict=True)]

    @property
    def average_score(self) -> float:
        """Completion: the mean key-result score (0..1); 0 without key results."""
        return share(self.score_sum, self.key_results)

    @property
    def completed_share(self) -> float:
        return share(self.completed, self.key_results)

    @property
    def alignment(self) -> float:
        """Share of non-company objectives aligned to a parent (as scoring.alignment)."""
        return share(self.aligned_objectives, self.alignable_objectives)


def share(part: float, whole: int) -> float:
    """``part / whole``, 0 when ``whole`` is 0 (average score, completed share, alignment)."""
    return part / whole if whole else 0.0


# A figures row: the values of Figures' fields in this order (as the read model's columns are
# read: plain tuples, ~550 per dashboard, cheaper than an object per department).
FIELDS = tuple(f.name for f in fields(Figures))
NO_BANDS = (0,) * SCORE_BANDS
_row = attrgetter(*FIELDS)
_ZERO = Figures()


def row(figures: Figures) -> tuple[Any, ...]:
    return _row(figures)


def total(parts: Iterable[Figures]) -> Figures:
    return sum_rows(map(_row, parts))


def sum_rows(rows: Iterable[Sequence[Any]]) -> Figures:
    """Figures rows (``FIELDS`` order) added up a column at a time, left to right as
    :meth:`Figures.add` does (the same floats); a row's empty bands count as zeros."""
    columns = list(zip(*rows, strict=True)) or [()] * len(FIELDS)
    sums: list[Any] = []
    for name, column in zip(FIELDS, columns, strict=True):
        if name == "score_bands":
            bands = zip(*(b or NO_BANDS for b in column), strict=True)
            sums.append([reduce(add, band, 0) for band in bands] or list(NO_BANDS))
        else:
            sums.append(reduce(add, column, getattr(_ZERO, name)))
    return Figures(*sums)


def weekly(rows: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """(ISO week, check-ins) summed over departments, oldest week first."""
    weeks: dict[str, int] = {}
    for week, count in rows:
        weeks[week] = weeks.get(week, 0) + count
    return sorted(weeks.items())
