"""The load generator shared by the benchmark's phases, and its pure statistics."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class LoadResult:
    requests: int
    ok: int
    errors: dict[str, int]  # outcome (status code or exception name) → count
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_seconds: float
    p95_ms: float = 0.0

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of already sorted values; 0.0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(
    latencies: Sequence[float],
    outcomes: Counter[str],
    seconds: float,
    client_cpu_seconds: float,
    ok: str = "ok",
) -> LoadResult:
    values = sorted(latencies)
    return LoadResult(
        requests=sum(outcomes.values()),
        ok=outcomes.get(ok, 0),
        errors={k: v for k, v in sorted(outcomes.items()) if k != ok},
        seconds=seconds,
        p50_ms=percentile(values, 50) * 1000,
        p99_ms=percentile(values, 99) * 1000,
        max_ms=(values[-1] * 1000) if values else 0.0,
        client_cpu_seconds=client_cpu_seconds,
        p95_ms=percentile(values, 95) * 1000,
    )


async def run_load(
    items: Sequence[T],
    calls: Sequence[Callable[[T], Awaitable[str]]],
    *,
    deadline: float | None = None,
) -> LoadResult:
    """Closed loop: one worker per entry of ``calls`` (so ``len(calls)`` in flight), each
    taking the next item and awaiting ``call(item)``, which answers its outcome ("ok" or
    why not). With ``deadline`` (seconds) no new call starts after it. Latency counts every
    call, failed or not."""
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    it = iter(items)
    start = time.perf_counter()
    stop_at = start + deadline if deadline else math.inf

    async def worker(call: Callable[[T], Awaitable[str]]) -> None:
        for item in it:
            if time.perf_counter() >= stop_at:
                return
            t0 = time.perf_counter()
            try:
                outcome = await call(item)
            except Exception as exc:
                outcome = type(exc).__name__
            latencies.append(time.perf_counter() - t0)
            outcomes[outcome] += 1

    cpu0 = time.process_time()
    await asyncio.gather(*(worker(call) for call in calls))
    elapsed = time.perf_counter() - start
    return summarize(latencies, outcomes, elapsed, time.process_time() - cpu0)
