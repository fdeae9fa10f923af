"""The factory simulator behind ``stride simulate factory``: realistic line events from lines
``line-a``, ``line-b``, … as telemetry samples, for demos and benchmarks.

Each line is a small model, its parameters drawn from the seed: an ideal rate (parts per
minute), a scrap rate, a chance of breaking down and a mean repair time. One line event is a
minute of that line: running, it makes parts (some scrapped) and is inspected every so many
parts; broken down, it makes nothing and counts a minute of downtime. Lines take turns, so the
event sequence (and every value) depends only on the seed and the number of lines; event
times are the wall clock when published (telemetry refuses far-future or ancient samples).

The metrics are defined once, here (:data:`FACTORY_METRICS`), with their units; docs/
integrations.md lists them for bindings (e.g. ratio(units_good / units_produced) = yield).
"""

from __future__ import annotations

import asyncio
import random
import re
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext

from services.integrations.api import Metric, Sample
from services.integrations.publish import publish_samples

MINUTE = timedelta(minutes=1)
FACTORY_METRICS: tuple[Metric, ...] = (
    Metric("units_produced", "pcs", MINUTE, "Parts made by the line in the minute"),
    Metric("units_good", "pcs", MINUTE, "Parts of those that passed quality"),
    Metric("downtime_min", "min", MINUTE, "Minutes the line was down (unplanned)"),
    Metric("inspections_done", "", MINUTE, "In-process inspections recorded"),
    Metric("inspections_due", "", MINUTE, "In-process inspections the control plan asked for"),
    Metric("yield_pct", "%", MINUTE, "units_good / units_produced × 100 (minutes with parts)"),
    Metric("cycle_time_s", "s", MINUTE, "Mean seconds per part in the minute"),
)
UNITS = {m.name: m.unit for m in FACTORY_METRICS}
MAX_LINES = 26
# One inspection every this many parts (the control plan).
PARTS_PER_INSPECTION = 50


def line_names(count: int) -> list[str]:
    """``line-a`` … (at most 26 lines)."""
    if not 1 <= count <= MAX_LINES:
        raise ValueError(f"between 1 and {MAX_LINES} lines")
    return [f"line-{c}" for c in string.ascii_lowercase[:count]]


def parse_rate(text: str) -> float:
    """Samples per second from ``200/s``, ``200``, ``12000/min`` or ``3600/h``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|min|m|h))?\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"expected a rate such as 200/s, got {text!r}")
    per = {"s": 1, "sec": 1, None: 1, "min": 60, "m": 60, "h": 3600}[m.group(2)]
    return float(m.group(1)) / per


def parse_duration(text: str) -> float:
    """Seconds from ``60s``, ``60``, ``2m``, ``1h`` or ``1.5s``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"expected a duration such as 60s or 2m, got {text!r}")
    return float(m.group(1)) * {None: 1, "s": 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]


@dataclass
class Line:
    name: str
    parts_per_minute: float
    scrap_rate: float
    breakdown_chance: float
    mean_repair_minutes: float
    down_for: int = 0
    parts_since_inspection: int = 0
    seq: int = 0


@dataclass(frozen=True)
class Reading:
    """One sample's content before it gets its time and id."""

    line: str
    metric: str
    value: float


class FactorySimulator:
    """Line events as samples; ``run_id`` makes the ids unique across runs."""

    def __init__(self, lines: int = 5, *, seed: int = 1, run_id: str = "sim") -> None:
        self.rng = random.Random(seed)
        self.run_id = run_id
        self.lines = [
            Line(
                name=name,
                parts_per_minute=self.rng.uniform(40, 60),
                scrap_rate=self.rng.uniform(0.005, 0.04),
                breakdown_chance=self.rng.uniform(0.005, 0.03),
                mean_repair_minutes=self.rng.uniform(3, 15),
            )
            for name in line_names(lines)
        ]
        self._turn = 0

    def minute(self, line: Line) -> list[Reading]:
        """One minute of ``line``."""
        rng = self.rng
        if line.down_for == 0 and rng.random() < line.breakdown_chance:
            line.down_for = max(1, round(rng.expovariate(1 / line.mean_repair_minutes)))
        if line.down_for > 0:
            line.down_for -= 1
            return [
                Reading(line.name, "units_produced", 0),
                Reading(line.name, "units_good", 0),
                Reading(line.name, "downtime_min", 1),
                Reading(line.name, "inspections_done", 0),
                Reading(line.name, "inspections_due", 0),
            ]
        produced = max(0, round(rng.gauss(line.parts_per_minute, line.parts_per_minute * 0.05)))
        scrapped = sum(1 for _ in range(produced) if rng.random() < line.scrap_rate)
        good = produced - scrapped
        line.parts_since_inspection += produced
        due, line.parts_since_inspection = divmod(line.parts_since_inspection, PARTS_PER_INSPECTION)
        done = sum(1 for _ in range(due) if rng.random() < 0.97)
        readings = [
            Reading(line.name, "units_produced", produced),
            Reading(line.name, "units_good", good),
            Reading(line.name, "downtime_min", 0),
            Reading(line.name, "inspections_done", done),
            Reading(line.name, "inspections_due", due),
        ]
        if produced:
            readings.append(Reading(line.name, "yield_pct", round(100 * good / produced, 3)))
            readings.append(Reading(line.name, "cycle_time_s", round(60 / produced, 3)))
        return readings

    def readings(self) -> Iterator[Reading]:
        """Line events in turn, for ever."""
        while True:
            line = self.lines[self._turn % len(self.lines)]
            self._turn += 1
            yield from self.minute(line)

    def stamp(self, reading: Reading, at: datetime) -> Sample:
        """The sample of ``reading`` at ``at``, with the line's next id
        (``<run>-<line>-<000000001>``: unique and increasing per line)."""
        line = next(x for x in self.lines if x.name == reading.line)
        line.seq += 1
        return Sample(
            source=reading.line,
            metric=reading.metric,
            value=float(reading.value),
            unit=UNITS[reading.metric],
            event_time=at,
            sample_id=f"{self.run_id}-{reading.line}-{line.seq:09d}",
        )


def batches(
    rate: float, duration: float, clock: Callable[[], float]
) -> Iterator[tuple[int, float]]:
    """How many samples are due at each step to keep ``rate`` for ``duration`` seconds:
    yields (count, seconds to wait before the next step). Pure pacing: ``clock`` is the
    caller's monotonic clock."""
    total = round(rate * duration)
    start = clock()
    sent = 0
    while sent < total:
        elapsed = clock() - start
        due = min(total, int(elapsed * rate) + 1)
        count = max(0, due - sent)
        sent += count
        next_at = sent / rate
        yield count, max(0.0, next_at - (clock() - start))


@dataclass
class SimulationSummary:
    published: int = 0
    stored: int = 0  # duplicates within JetStream's window are published but not stored
    seconds: float = 0.0


async def simulate(
    js: JetStreamContext,
    sim: FactorySimulator,
    *,
    rate: float,
    duration: float,
    on_progress: Callable[[int], None] = lambda sent: None,
) -> SimulationSummary:
    """Publish the simulator's samples at ``rate`` per second for ``duration`` seconds."""
    readings = sim.readings()
    summary = SimulationSummary()
    start = time.monotonic()
    for count, wait in batches(rate, duration, time.monotonic):
        if count:
            now = datetime.now(UTC)
            samples = [sim.stamp(next(readings), now) for _ in range(count)]
            summary.stored += await publish_samples(js, samples)  # NoIngestStream
            summary.published += count
            on_progress(summary.published)
        if wait > 0:
            await asyncio.sleep(wait)
    summary.seconds = time.monotonic() - start
    return summary
