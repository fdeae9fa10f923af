"""Telemetry tables (schema ``telemetry`` in PostgreSQL, telemetry.db in SQLite).

Samples are keyed by (source, sample_id): the sender's idempotency key, so a sample sent
twice (a retry, a JetStream redelivery, an HTTP post repeated) is stored once. Windows are
recomputed from stored samples by event time (``ix_samples_metric_time``), never kept as
running totals, so late and out-of-order samples land where they belong.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.common.outbox import outbox_table


class Base(DeclarativeBase):
    pass


class Metric(Base):
    """What may be sent: a metric's name, unit and how often a source is expected to speak."""

    __tablename__ = "metrics"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # 0: never stale.
    expected_interval_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()


class Sample(Base):
    """One accepted measurement (dead-lettered ones are in ``dead_letters``)."""

    __tablename__ = "samples"
    __table_args__ = (
        Index("ix_samples_metric_time", "metric", "event_time"),
        Index("ix_samples_metric_source_time", "metric", "source", "event_time"),
    )

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    sample_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    # When it happened at the source (windows) and when it reached us (silence).
    event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Binding(Base):
    """metric + aggregation + window + transform → key result, and what was last pushed."""

    __tablename__ = "bindings"
    __table_args__ = (
        Index("ix_bindings_metric", "metric"),
        Index("ix_bindings_denominator", "denominator_metric"),
        Index("ix_bindings_key_result", "key_result_id"),
    )

    id: Mapped[str] = id_column()
    key_result_id: Mapped[str] = mapped_column(String(36), nullable=False)
    metric: Mapped[str] = mapped_column(String(64), nullable=False)
    # "": every source of the metric.
    source: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    # workflows.vocabulary-style words: avg | sum | count | min | max | last | ratio | percentile
    aggregation: Mapped[str] = mapped_column(String(16), nullable=False)
    # shift | day | week | cycle_to_date
    window: Mapped[str] = mapped_column(String(16), nullable=False)
    scale: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    offset: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    denominator_metric: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    percentile: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    # The key result's cycle: its first day (cycle-to-date windows, ancient samples) and
    # time zone (windows in org time).
    cycle_start: Mapped[date] = mapped_column(Date, nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    # Push state: ``dirty`` until the current value was sent; ``sequence`` of the last send.
    dirty: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Start of the window the last pushed value was computed over: when the current window
    # starts later (a new shift, day or week), the binding is pushed again.
    window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Event time of the newest sample that fed it; arrival time of the last one (silence).
    last_sample_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_arrival_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    stale: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The stale flag goals has last been told (differs from ``stale`` until it is told).
    stale_told: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class DeadLetter(Base):
    """A sample that could not be used, kept with its reason (also on the dead-letter
    subject)."""

    __tablename__ = "dead_letters"
    __table_args__ = (
        Index("ix_dead_letters_received", "received_at"),
        Index("ix_dead_letters_reason", "reason", "received_at"),
    )

    id: Mapped[str] = id_column()
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    payload: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    metric: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    received_at: Mapped[datetime] = created_at_column()


OUTBOX: Table = outbox_table(Base.metadata)
SAMPLES: Table = Sample.__table__  # type: ignore[assignment]
