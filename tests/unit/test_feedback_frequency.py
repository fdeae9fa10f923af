"""Feedback frequency's totals (GetFeedbackFrequency with totals_only, what dashboards ask
for): the rows per department and week added up per department and per week."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from services.feedback.handlers import frequency
from stride.feedback.v1 import feedback_pb2 as pb

COUNTS = {
    ("d1", "2026-W02", "private"): 2,
    ("d1", "2026-W02", "praise"): 1,
    ("d1", "2026-W03", "challenges"): 4,
    ("d2", "2026-W02", "upward_feedback"): 3,
    ("d2", "2026-W01", "private"): 1,
    ("d2", "2026-W01", "something else"): 9,  # not a column: not counted
}


class _Repo:
    async def counts(self, weeks: list[str], departments: list[str]) -> dict[Any, int]:
        return COUNTS


class _Deps:
    time_zone = "UTC"

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[_Repo]:
        yield _Repo()


async def _get(**kwargs: Any) -> pb.FeedbackFrequency:
    request = pb.GetFeedbackFrequencyRequest(from_week="2026-W01", to_week="2026-W03", **kwargs)
    return await frequency.get(_Deps(), request)  # type: ignore[arg-type]


async def test_totals_are_the_rows_added_up() -> None:
    rows = (await _get()).rows
    totals = await _get(totals_only=True)
    assert not totals.rows
    per_department = {d: sum(r.total for r in rows if r.department_id == d) for d in ("d1", "d2")}
    assert [(r.department_id, r.week, r.total) for r in totals.by_department] == [
        ("d1", "", per_department["d1"]),
        ("d2", "", per_department["d2"]),
    ]
    assert [(r.department_id, r.week, r.total) for r in totals.by_week] == [
        ("", "2026-W01", 1),
        ("", "2026-W02", 6),
        ("", "2026-W03", 4),
    ]
    d1 = totals.by_department[0]
    assert (d1.feedback, d1.praise, d1.upward, d1.challenges, d1.total) == (2, 1, 0, 4, 7)
