"""Feedback frequency: items given per department (the giver's, when given) and ISO week,
for the reports' dashboards. Counts only — never who wrote what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from services.common.errors import InvalidArgument
from services.common.models import utcnow
from services.feedback.domain.calendar import local_week
from services.feedback.handlers.shared import Deps
from stride.feedback.v1 import feedback_pb2 as pb
from workflows.vocabulary import (
    MAX_FREQUENCY_WEEKS,
    VISIBILITY_PRAISE,
    VISIBILITY_PRIVATE,
    week_bounds,
    week_of,
)

# Weeks shown when the request names no first week.
DEFAULT_WEEKS = 13
_COLUMNS = {
    VISIBILITY_PRIVATE: "feedback",
    VISIBILITY_PRAISE: "praise",
    "upward_feedback": "upward",
    "challenges": "challenges",
}


def weeks_between(first: str, last: str) -> list[str]:
    """Every ISO week from ``first`` to ``last`` (both included), or InvalidArgument."""
    start, end = week_bounds(first), week_bounds(last)
    if start is None or end is None:
        raise InvalidArgument("invalid_week", "weeks are ISO weeks such as 2026-W49")
    if end[0] < start[0]:
        raise InvalidArgument("invalid_week_range", "to_week is not before from_week")
    count = (end[0] - start[0]).days // 7 + 1
    if count > MAX_FREQUENCY_WEEKS:
        raise InvalidArgument("week_range_too_long", f"at most {MAX_FREQUENCY_WEEKS} weeks at once")
    return [week_of(start[0] + timedelta(weeks=i)) for i in range(count)]


async def get(deps: Deps, request: pb.GetFeedbackFrequencyRequest) -> pb.FeedbackFrequency:
    last = request.to_week or local_week(utcnow(), deps.time_zone)
    first = request.from_week
    if not first:  # the quarter of weeks up to the last one
        bounds = week_bounds(last)
        first = week_of(bounds[0] - timedelta(weeks=DEFAULT_WEEKS - 1)) if bounds else last
    weeks = weeks_between(first, last)
    async with deps.reading() as repo:
        counts = await repo.counts(weeks, list(request.department_ids))
    if request.totals_only:
        return pb.FeedbackFrequency(
            by_department=_rows(sorted(_cells(counts, lambda d, w: (d, "")).items())),
            by_week=_rows(sorted(_cells(counts, lambda d, w: ("", w)).items())),
        )
    cells = _cells(counts, lambda d, w: (d, w))
    return pb.FeedbackFrequency(
        rows=_rows(sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])))
    )


Cell = tuple[str, str]  # (department, week); "" where summed over them


def _cells(
    counts: dict[tuple[str, str, str], int], cell_of: Callable[[str, str], Cell]
) -> dict[Cell, dict[str, int]]:
    """Counts per (department, week, kind of item) added up per cell and column."""
    cells: dict[Cell, dict[str, int]] = {}
    for (department, week, what), n in counts.items():
        column = _COLUMNS.get(what)
        if column is not None:
            cell = cells.setdefault(cell_of(department, week), {})
            cell[column] = cell.get(column, 0) + n
    return cells


def _rows(cells: list[tuple[Cell, dict[str, int]]]) -> list[pb.FrequencyRow]:
    return [
        pb.FrequencyRow(department_id=d, week=w, total=sum(c.values()), **c) for (d, w), c in cells
    ]
