"""When telemetry tells goals (pure): coalescing pushes and deciding staleness.

- A binding's key result gets at most one RecordMachineValue per ``interval`` (default 1 s):
  a burst of samples marks the binding dirty many times and is pushed once, with the value
  recomputed at push time.
- Silence is measured in *arrival* time (a source replaying an old backlog is not silent),
  values in *event* time. A binding never fed since it was created counts its silence from
  its creation. An expected interval of 0 means "never stale".
- A value is the aggregate of the window *now*: when a new shift, day or week begins the
  binding is pushed again (the new window's value, 0 until its first sample) even if no
  sample arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from services.telemetry.domain.windows import Window, bounds


def push_due(last_pushed_at: datetime | None, now: datetime, interval: float) -> bool:
    return last_pushed_at is None or now - last_pushed_at >= timedelta(seconds=interval)


def next_push_at(last_pushed_at: datetime | None, now: datetime, interval: float) -> datetime:
    if last_pushed_at is None:
        return now
    return max(now, last_pushed_at + timedelta(seconds=interval))


def is_silent(
    last_arrival_at: datetime | None,
    created_at: datetime,
    expected_interval_seconds: int,
    now: datetime,
) -> bool:
    """True when the source has said nothing for longer than the metric's expected interval."""
    if expected_interval_seconds <= 0:
        return False
    heard = last_arrival_at or created_at
    return now - heard > timedelta(seconds=expected_interval_seconds)


def rolled_over(
    window: Window,
    pushed_start: datetime | None,
    now: datetime,
    time_zone: str,
    shifts: Sequence[time],
    cycle_start: date,
) -> bool:
    """Whether the window containing ``now`` starts later than the one last pushed."""
    if pushed_start is None or window is Window.CYCLE_TO_DATE:
        return False
    current = bounds(window, now, time_zone, shifts=shifts, cycle_start=cycle_start)
    return current.start > pushed_start
