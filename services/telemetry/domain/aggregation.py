"""Aggregations over a window's samples (pure).

A window's value is recomputed from every stored sample in it, by event time, whenever a
sample lands in it: a late or out-of-order sample changes the result exactly as if it had
arrived in order, and a duplicate (stored once) changes nothing. :class:`Summary` is what
the database hands back for a window (count, sum, min, max, the last value by event time and,
for percentiles, the values); :func:`summarize` builds the same from samples in memory (tests,
QueryWindow over small windows) and :func:`finish` turns a summary into the binding's value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Aggregation(StrEnum):
    AVG = "avg"
    SUM = "sum"
    COUNT = "count"
    MIN = "min"
    MAX = "max"
    LAST = "last"  # by event time (ties: the greatest sample id)
    RATIO = "ratio"  # sum(metric) / sum(denominator metric)
    PERCENTILE = "percentile"


@dataclass(frozen=True)
class Point:
    event_time: datetime
    value: float
    sample_id: str = ""


@dataclass(frozen=True)
class Summary:
    count: int = 0
    total: float = 0.0
    minimum: float = 0.0
    maximum: float = 0.0
    last: float = 0.0
    # Event time of the newest sample (None: empty).
    newest: datetime | None = None
    # Only filled for percentiles.
    values: Sequence[float] = field(default_factory=tuple)


@dataclass(frozen=True)
class Result:
    value: float
    count: int
    empty: bool
    newest: datetime | None


def summarize(points: Iterable[Point], *, keep_values: bool = False) -> Summary:
    ordered = sorted(points, key=lambda p: (p.event_time, p.sample_id))
    if not ordered:
        return Summary()
    values = [p.value for p in ordered]
    return Summary(
        count=len(values),
        total=math.fsum(values),
        minimum=min(values),
        maximum=max(values),
        last=ordered[-1].value,
        newest=ordered[-1].event_time,
        values=tuple(values) if keep_values else (),
    )


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0 < p <= 100) by linear interpolation between closest ranks
    (numpy's default, PostgreSQL's percentile_cont)."""
    if not 0 < p <= 100:
        raise ValueError("percentile must be in (0, 100]")
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def finish(
    aggregation: Aggregation,
    summary: Summary,
    *,
    denominator: Summary | None = None,
    p: float = 0.0,
) -> Result:
    """The aggregate of a window. An empty window is 0 (``empty``); a ratio whose denominator
    sums to 0 is 0 and empty (nothing to divide by)."""
    newest = summary.newest
    if aggregation is Aggregation.RATIO:
        den = denominator or Summary()
        if den.newest is not None and (newest is None or den.newest > newest):
            newest = den.newest
        if den.total == 0:
            return Result(0.0, summary.count, True, newest)
        return Result(summary.total / den.total, summary.count, False, newest)
    if summary.count == 0:
        return Result(0.0, 0, True, None)
    value = {
        Aggregation.AVG: lambda: summary.total / summary.count,
        Aggregation.SUM: lambda: summary.total,
        Aggregation.COUNT: lambda: float(summary.count),
        Aggregation.MIN: lambda: summary.minimum,
        Aggregation.MAX: lambda: summary.maximum,
        Aggregation.LAST: lambda: summary.last,
        Aggregation.PERCENTILE: lambda: percentile(summary.values, p),
    }[aggregation]()
    return Result(value, summary.count, False, newest)


def transformed(value: float, scale: float, offset: float) -> float:
    """The value shown on the key result: aggregate × scale + offset (scale 0 means 1)."""
    return value * (scale or 1.0) + offset


def empty_is_zero(aggregation: Aggregation) -> bool:
    """Whether an empty window's value is a real 0 worth sending: a count or a sum of nothing
    is 0 ("no downtime this shift"), but an average, extreme, last value, percentile or ratio
    of nothing is unknown — sending 0 would make a yield of 98 % look like 0 % at every
    shift change."""
    return aggregation in (Aggregation.COUNT, Aggregation.SUM)
