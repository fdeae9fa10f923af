"""Telemetry persistence (SQLAlchemy async). Samples are inserted with "on conflict do
nothing" on (source, sample_id) (PostgreSQL and SQLite alike), and a window is summarised by
one indexed range query on (metric[, source], event_time)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import SessionRepository
from services.common.models import aware
from services.telemetry.domain.aggregation import Summary
from services.telemetry.domain.samples import MetricSpec
from services.telemetry.models import SAMPLES, Binding, DeadLetter, Metric, Sample

DEAD_LETTERS = DeadLetter.__table__


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _insert(session: AsyncSession, table: Any) -> Any:
    return (postgresql.insert if _postgres(session) else sqlite.insert)(table)


class TelemetryRepository(SessionRepository):
    # -- metrics --------------------------------------------------------------------------------
    async def metric(self, name: str) -> Metric | None:
        return await self.session.get(Metric, name)

    async def metrics(self, limit: int, offset: int) -> Sequence[Metric]:
        stmt = select(Metric).order_by(Metric.name).limit(limit).offset(offset)
        return (await self.session.scalars(stmt)).all()

    async def metric_specs(self, names: Iterable[str]) -> dict[str, MetricSpec]:
        wanted = sorted(set(names))
        if not wanted:
            return {}
        rows = await self.session.scalars(select(Metric).where(Metric.name.in_(wanted)))
        return {m.name: MetricSpec(m.name, m.unit, m.expected_interval_seconds) for m in rows.all()}

    # -- samples --------------------------------------------------------------------------------
    async def insert_samples(self, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
        """Insert the samples not stored yet; the (source, sample_id) of those inserted."""
        if not rows:
            return set()
        stmt = (
            _insert(self.session, SAMPLES)
            .on_conflict_do_nothing(index_elements=["source", "sample_id"])
            .returning(SAMPLES.c.source, SAMPLES.c.sample_id)
        )
        # One statement for the batch (SQLAlchemy's "insertmanyvalues": multi-row INSERTs with
        # RETURNING on PostgreSQL and SQLite alike); conflicting rows return nothing.
        result = await self.session.execute(stmt, list(rows))
        return {(r[0], r[1]) for r in result.all()}

    def _window(
        self, columns: Sequence[Any], metric: str, source: str, start: datetime, end: datetime
    ) -> Select[Any]:
        stmt = select(*columns).where(
            Sample.metric == metric, Sample.event_time >= start, Sample.event_time < end
        )
        return stmt.where(Sample.source == source) if source else stmt

    async def summary(
        self,
        metric: str,
        source: str,
        start: datetime,
        end: datetime,
        *,
        keep_values: bool = False,
    ) -> Summary:
        """The window's count, sum, min, max and last value by event time (from stored
        samples, by event time: late and out-of-order ones land where they belong)."""
        agg = self._window(
            [
                func.count(),
                func.coalesce(func.sum(Sample.value), 0.0),
                func.min(Sample.value),
                func.max(Sample.value),
                func.max(Sample.event_time),
            ],
            metric,
            source,
            start,
            end,
        )
        count, total, minimum, maximum, _newest = (await self.session.execute(agg)).one()
        if not count:
            return Summary()
        last_stmt = (
            self._window([Sample.value, Sample.event_time], metric, source, start, end)
            .order_by(Sample.event_time.desc(), Sample.sample_id.desc())
            .limit(1)
        )
        last, newest = (await self.session.execute(last_stmt)).one()
        values: tuple[float, ...] = ()
        if keep_values:
            values = tuple(
                (
                    await self.session.scalars(
                        self._window([Sample.value], metric, source, start, end)
                    )
                ).all()
            )
        return Summary(
            count=int(count),
            total=float(total),
            minimum=float(minimum),
            maximum=float(maximum),
            last=float(last),
            newest=aware(newest),
            values=values,
        )

    # -- bindings -------------------------------------------------------------------------------
    async def binding(self, binding_id: str, *, lock: bool = False) -> Binding | None:
        return await self.session.get(Binding, binding_id, with_for_update=lock)

    async def binding_of(self, key_result_id: str) -> Binding | None:
        stmt = select(Binding).where(Binding.key_result_id == key_result_id)
        return (await self.session.scalars(stmt)).first()

    async def bindings(
        self, key_result_id: str, metric: str, limit: int, offset: int
    ) -> Sequence[Binding]:
        stmt = select(Binding)
        if key_result_id:
            stmt = stmt.where(Binding.key_result_id == key_result_id)
        if metric:
            stmt = stmt.where(or_(Binding.metric == metric, Binding.denominator_metric == metric))
        stmt = stmt.order_by(Binding.created_at, Binding.id).limit(limit).offset(offset)
        return (await self.session.scalars(stmt)).all()

    async def bindings_fed_by(self, metrics: Iterable[str]) -> Sequence[Binding]:
        """Bindings that count a sample of any of ``metrics`` (as metric or denominator)."""
        names = sorted(set(metrics))
        if not names:
            return []
        stmt = select(Binding).where(
            or_(Binding.metric.in_(names), Binding.denominator_metric.in_(names))
        )
        return (await self.session.scalars(stmt)).all()

    async def not_before(self, metrics: Iterable[str]) -> dict[str, datetime]:
        """Per metric, local midnight of the first day of the earliest cycle a binding of it
        counts in: an older sample cannot count anywhere."""
        found: dict[str, datetime] = {}
        for b in await self.bindings_fed_by(metrics):
            start = datetime.combine(b.cycle_start, time(0), ZoneInfo(b.time_zone)).astimezone(UTC)
            for name in (b.metric, b.denominator_metric):
                if name and (name not in found or start < found[name]):
                    found[name] = start
        return found

    async def dirty_bindings(self) -> Sequence[Binding]:
        stmt = select(Binding).where(
            or_(Binding.dirty.is_(True), Binding.stale != Binding.stale_told)
        )
        return (await self.session.scalars(stmt)).all()

    async def pushed_bindings(self) -> Sequence[Binding]:
        """Bindings pushed at least once and not waiting for a push."""
        stmt = select(Binding).where(Binding.window_start.is_not(None), Binding.dirty.is_(False))
        return (await self.session.scalars(stmt)).all()

    async def silent_candidates(self) -> Sequence[tuple[Binding, int]]:
        """Bindings not stale whose metric has an expected interval, with that interval."""
        stmt = (
            select(Binding, Metric.expected_interval_seconds)
            .join(Metric, Metric.name == Binding.metric)
            .where(Binding.stale.is_(False), Metric.expected_interval_seconds > 0)
        )
        return [(b, int(i)) for b, i in (await self.session.execute(stmt)).all()]

    async def claim_push(self, binding_id: str) -> int | None:
        """Take a binding's next sequence and clear its dirty flag (a sample landing while it
        is pushed sets it again); None when the binding is gone."""
        stmt = (
            update(Binding)
            .where(Binding.id == binding_id)
            .values(sequence=Binding.sequence + 1, dirty=False)
            .returning(Binding.sequence)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # -- dead letters ---------------------------------------------------------------------------
    async def insert_dead_letters(self, rows: Sequence[dict[str, Any]]) -> None:
        """Keep dead letters; a redelivered one (same id) is kept once."""
        if not rows:
            return
        stmt = _insert(self.session, DEAD_LETTERS).on_conflict_do_nothing(index_elements=["id"])
        await self.session.execute(stmt, list(rows))

    async def dead_letters(self, reason: str, limit: int, offset: int) -> Sequence[DeadLetter]:
        stmt = select(DeadLetter)
        if reason:
            stmt = stmt.where(DeadLetter.reason == reason)
        stmt = stmt.order_by(DeadLetter.received_at.desc(), DeadLetter.id)
        return (await self.session.scalars(stmt.limit(limit).offset(offset))).all()

    async def dead_letter_counts(self) -> dict[str, int]:
        stmt = select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)
        return {r: int(n) for r, n in (await self.session.execute(stmt)).all()}
