"""OEE of a line over a shift: availability × performance × quality (pure functions).

From the MES's line events:
- state intervals: ``run`` (producing), ``downtime`` (an unplanned stop: breakdown, waiting
  for material) and ``stop`` (a planned stop: break, planned changeover, no order). Planned
  stops are not production time, so they lower nothing.
- counts: parts ``produced`` and ``good`` at a moment, with the ideal cycle time of the part.

availability = run time / planned production time (run + downtime)
performance  = Σ(ideal cycle time × produced) / run time, capped at 1 (above 1 the ideal
               cycle time on record is wrong, and OEE must not exceed 100 %)
quality      = good / produced (1 when nothing was produced: nothing was scrapped)
A shift without run or downtime in it was not planned for production: it has no OEE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

RUN = "run"
STOP = "stop"
DOWNTIME = "downtime"
STATES = frozenset({RUN, STOP, DOWNTIME})


@dataclass(frozen=True)
class StateInterval:
    line: str
    state: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Count:
    line: str
    at: datetime
    produced: int
    good: int
    ideal_cycle_time_s: float


@dataclass(frozen=True)
class Oee:
    availability: float
    performance: float
    quality: float

    @property
    def oee(self) -> float:
        return self.availability * self.performance * self.quality


def overlap_seconds(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    """Seconds of ``[start, end)`` inside ``[lo, hi)``."""
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds())


def shift_oee(
    intervals: Iterable[StateInterval],
    counts: Iterable[Count],
    start: datetime,
    end: datetime,
) -> Oee | None:
    """The OEE of one line's events over ``[start, end)`` (intervals clipped to it, counts
    by their moment); None when the shift had no planned production time."""
    run = down = 0.0
    for interval in intervals:
        seconds = overlap_seconds(interval.start, interval.end, start, end)
        if interval.state == RUN:
            run += seconds
        elif interval.state == DOWNTIME:
            down += seconds
    planned = run + down
    if planned <= 0:
        return None
    produced = good = 0
    ideal = 0.0
    for c in counts:
        if start <= c.at < end:
            produced += c.produced
            good += c.good
            ideal += c.ideal_cycle_time_s * c.produced
    performance = min(1.0, ideal / run) if run > 0 else 0.0
    quality = good / produced if produced > 0 else 1.0
    return Oee(availability=run / planned, performance=performance, quality=quality)
