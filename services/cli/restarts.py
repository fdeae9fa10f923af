"""When the supervisor restarts a crashed child, and when it gives up (pure rules, no I/O).

A child that exits without being asked to is restarted after a back-off that doubles with
each crash inside the crash-loop window (``initial_backoff``, 2x, 4x ... up to
``max_backoff``), so a process killed once is back almost at once while one that keeps dying
does not spin. ``max_crashes`` crashes of one child within ``window`` seconds is a crash loop:
the supervisor stops restarting it and ``stride up`` stops the stack with a message naming it.
A child that stays up for ``window`` seconds starts again from the first back-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    max_crashes: int = 5
    window: float = 60.0

    def recent(self, crashes: Sequence[float], now: float) -> list[float]:
        """The crash times (monotonic seconds) inside the window ending ``now``."""
        return [t for t in crashes if now - t <= self.window]

    def is_crash_loop(self, recent: Sequence[float]) -> bool:
        return len(recent) >= self.max_crashes

    def backoff(self, recent: Sequence[float]) -> float:
        """Seconds to wait before the restart that follows the latest of ``recent`` crashes."""
        exponent = max(len(recent) - 1, 0)
        return float(min(self.initial_backoff * 2**exponent, self.max_backoff))

    def describe_loop(self, recent: Sequence[float]) -> str:
        return f"crash loop: exited {len(recent)} times within {self.window:.0f}s"


@dataclass(frozen=True)
class Restarting:
    """A child exited unexpectedly and will be started again after ``delay`` seconds."""

    name: str
    exit_code: int | None
    # Crashes of this child inside the crash-loop window, this one included.
    crashes: int
    delay: float


@dataclass(frozen=True)
class Restarted:
    """A restarted child is healthy again (``downtime``: seconds since it exited)."""

    name: str
    pid: int
    downtime: float


SupervisorEvent = Restarting | Restarted
