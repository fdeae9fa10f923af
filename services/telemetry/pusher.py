"""Telling goals: the push scheduler and the staleness check, two asyncio tasks of the
telemetry process.

The scheduler wakes when ingestion marks a binding dirty (or every ``interval``). A dirty
binding whose last push is at least ``interval`` old (pure rule: domain/pushing.py) takes its
next sequence and clears its dirty flag in one statement, then its window is recomputed from
stored samples and sent with RecordMachineValue(value × scale + offset, as_of, binding,
sequence). A burst of samples therefore becomes one call per key result per interval, with
the value as of the push. A failed call (goals UNAVAILABLE, a deadline) marks the binding
dirty again and is retried on the next pass; goals ignores a sequence it has seen, so a call
that succeeded but whose answer was lost is harmless.

Staleness changes (``stale`` differs from ``stale_told``) are sent first with
SetKeyResultStale. The staleness check marks a binding stale when its metric's expected
interval passed since the last sample *arrived* (SourceStalenessChanged); ingestion clears it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import grpc
import structlog
from sqlalchemy import func, update

from services.common import metrics
from services.common.models import aware, rfc3339, utcnow
from services.common.outbox import new_event_meta
from services.common.tasks import cancel_and_wait, log_loop_failure
from services.telemetry.domain.aggregation import Aggregation, empty_is_zero, transformed
from services.telemetry.domain.pushing import is_silent, next_push_at, push_due, rolled_over
from services.telemetry.domain.windows import Window
from services.telemetry.handlers.samples import window_value
from services.telemetry.handlers.shared import Deps
from services.telemetry.models import Binding
from stride.goals.v1 import goals_pb2
from stride.telemetry.v1 import telemetry_pb2 as pb

log = structlog.get_logger(__name__)

# Worth trying again (goals restarting or busy); any other refusal (the key result is no
# longer machine-fed, its cycle closed, the value out of its range) is logged, not retried.
RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


class Pusher:
    def __init__(self, deps: Deps, *, interval: float, staleness_interval: float) -> None:
        self.deps = deps
        self.interval = interval
        self.staleness_interval = staleness_interval
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._push_loop(), name="telemetry-push"),
            asyncio.create_task(self._staleness_loop(), name="telemetry-staleness"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)

    # -- pushing ----------------------------------------------------------------------------
    async def _push_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                wait = await self.push_once()
            except Exception as exc:
                log_loop_failure(log, "telemetry push pass failed", exc)
                wait = self.interval
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except TimeoutError:
                pass
            # Let a burst of wake-ups settle into one pass.
            await asyncio.sleep(0.02)

    async def push_once(self) -> float:
        """One pass over the bindings with something to tell; seconds until the next is due."""
        now = utcnow()
        async with self.deps.reading() as repo:
            rows = list(await repo.dirty_bindings())
        wait = self.interval
        for row in rows:
            if row.stale != row.stale_told:
                await self._tell_stale(row)
            if not row.dirty:
                continue
            last = aware(row.last_pushed_at)
            if not push_due(last, now, self.interval):
                wait = min(wait, (next_push_at(last, now, self.interval) - now).total_seconds())
                continue
            await self._push(row.id)
        return max(wait, 0.01)

    async def _push(self, binding_id: str) -> None:
        deps = self.deps
        async with deps.units() as uow:
            sequence = await uow.repo.claim_push(binding_id)
            row = await uow.repo.binding(binding_id)
        if sequence is None or row is None:
            return
        now = utcnow()
        async with deps.reading() as repo:
            result, span = await window_value(
                deps,
                repo,
                metric=row.metric,
                source=row.source,
                aggregation=Aggregation(row.aggregation),
                window=Window(row.window),
                denominator=row.denominator_metric,
                percentile=row.percentile,
                at=now,
                time_zone=row.time_zone,
                cycle_start=row.cycle_start,
            )
        if result.empty and not empty_is_zero(Aggregation(row.aggregation)):
            # Nothing to say yet: the key result keeps its value until a sample lands.
            await self._set(binding_id, window_start=span.start)
            return
        value = transformed(result.value, row.scale, row.offset)
        as_of = result.newest or aware(row.last_sample_at) or now
        request = goals_pb2.RecordMachineValueRequest(
            key_result_id=row.key_result_id,
            value=value,
            as_of=rfc3339(as_of),
            binding_id=row.id,
            sequence=sequence,
        )
        try:
            await deps.goals.record(request)
        except grpc.aio.AioRpcError as exc:
            metrics.telemetry_pushed("value", exc.code().name.lower())
            log.warning(
                "machine value not recorded",
                binding=row.id,
                code=exc.code().name,
                details=exc.details(),
            )
            retry = exc.code() in RETRYABLE
            await self._set(binding_id, dirty=retry, last_pushed_at=now)
            return
        metrics.telemetry_pushed("value", "ok")
        await self._set(binding_id, last_value=value, last_pushed_at=now, window_start=span.start)

    async def _set(self, binding_id: str, **values: object) -> None:
        async with self.deps.units() as uow:
            await uow.session.execute(
                update(Binding).where(Binding.id == binding_id).values(**values)
            )

    async def _tell_stale(self, row: Binding) -> None:
        request = goals_pb2.SetKeyResultStaleRequest(
            key_result_id=row.key_result_id,
            stale=row.stale,
            binding_id=row.id,
            last_sample_at=rfc3339(row.last_sample_at),
        )
        try:
            await self.deps.goals.set_stale(request)
            metrics.telemetry_pushed("stale", "ok")
        except grpc.aio.AioRpcError as exc:
            metrics.telemetry_pushed("stale", exc.code().name.lower())
            log.warning("staleness not told", binding=row.id, code=exc.code().name)
            if exc.code() in RETRYABLE:
                return
        # Told (or refused for good): goals now holds ``row.stale``. If the flag flipped
        # meanwhile, ``stale`` differs from this and the next pass tells goals again (noting
        # "told" only when it had not flipped left goals stale for good when a source spoke
        # again during the call).
        async with self.deps.units() as uow:
            await uow.session.execute(
                update(Binding).where(Binding.id == row.id).values(stale_told=row.stale)
            )

    # -- staleness --------------------------------------------------------------------------
    async def _staleness_loop(self) -> None:
        while True:
            try:
                now = utcnow()
                if await self.check_staleness(now) + await self.check_windows(now):
                    self.wake()
            except Exception as exc:
                log_loop_failure(log, "telemetry staleness check failed", exc)
            await asyncio.sleep(self.staleness_interval)

    async def check_staleness(self, now: datetime) -> int:
        """Mark every binding whose source went silent stale; how many were."""
        marked = 0
        async with self.deps.units() as uow:
            for row, interval in await uow.repo.silent_candidates():
                created = aware(row.created_at)
                assert created is not None
                if not is_silent(aware(row.last_arrival_at), created, interval, now):
                    continue
                # Only if no sample arrived since it was read (ingestion runs concurrently).
                heard = func.coalesce(Binding.last_arrival_at, Binding.created_at)
                changed = await uow.session.execute(
                    update(Binding)
                    .where(
                        Binding.id == row.id,
                        Binding.stale.is_(False),
                        heard < now - timedelta(seconds=interval),
                    )
                    .values(stale=True)
                )
                if not changed.rowcount:  # type: ignore[attr-defined]
                    continue
                marked += 1
                await uow.emit(
                    pb.SourceStalenessChanged(
                        meta=new_event_meta("telemetry"),
                        binding_id=row.id,
                        key_result_id=row.key_result_id,
                        stale=True,
                        last_sample_at=rfc3339(row.last_sample_at),
                    )
                )
        return marked

    async def check_windows(self, now: datetime) -> int:
        """Mark dirty every binding whose window rolled over since its last push (a new shift,
        day or week starts from its own samples, even before one arrives); how many."""
        marked = 0
        async with self.deps.units() as uow:
            for row in await uow.repo.pushed_bindings():
                if not rolled_over(
                    Window(row.window),
                    aware(row.window_start),
                    now,
                    row.time_zone,
                    self.deps.shifts,
                    row.cycle_start,
                ):
                    continue
                await uow.session.execute(
                    update(Binding).where(Binding.id == row.id).values(dirty=True)
                )
                marked += 1
        return marked
