"""Stride's own OpenTelemetry metrics (names and meaning: docs/observability.md).

The instruments come from the global meter: until a process installs a MeterProvider
(:func:`services.common.telemetry.configure_metrics`) they cost nothing, afterwards they are
exported with the process' other metrics. Call sites use the small functions below so that a
metric's name and attributes are decided in one place.

Gauges that need I/O (outbox backlog, escalations by level) are polled by an asyncio task of
the owning process into a :class:`GaugeValues`; the gauge callbacks (run by the metric
reader, possibly on another thread) only read those values.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

_meter = metrics.get_meter("stride")

CHECK_INS_RECORDED = "stride.checkins.recorded"
EVENTS_PUBLISHED = "stride.events.published"
EVENTS_CONSUMED = "stride.events.consumed"
EVENTS_REDELIVERED = "stride.events.redelivered"
OUTBOX_BACKLOG = "stride.outbox.backlog"
OUTBOX_AGE = "stride.outbox.oldest_age"
ESCALATIONS_ACTIVE = "stride.escalations.active"
ESCALATIONS_SIGNALLED = "stride.escalations.signalled"
RPC_SERVER_DURATION = "rpc.server.duration"
TELEMETRY_SAMPLES = "stride.telemetry.samples"
TELEMETRY_DEAD_LETTERS = "stride.telemetry.dead_letters"
TELEMETRY_PUSHES = "stride.telemetry.pushes"
BATCH_SIZE = "stride.batches.size"

_check_ins = _meter.create_counter(
    CHECK_INS_RECORDED, unit="{check_in}", description="Check-ins saved by the goals service."
)
_published = _meter.create_counter(
    EVENTS_PUBLISHED,
    unit="{event}",
    description="Outbox events acknowledged by JetStream, by service and subject.",
)
_consumed = _meter.create_counter(
    EVENTS_CONSUMED,
    unit="{event}",
    description="Events a consumer settled (acked or terminated), by consumer, subject, outcome.",
)
_redelivered = _meter.create_counter(
    EVENTS_REDELIVERED,
    unit="{event}",
    description="Deliveries of an event JetStream had delivered before (after a nak or "
    "an ack timeout), by consumer and subject.",
)
_escalations_signalled = _meter.create_counter(
    ESCALATIONS_SIGNALLED,
    unit="{signal}",
    description="Risk signals the event bridge handed to kr-escalation workflows, by outcome.",
)
_rpc_duration = _meter.create_histogram(
    RPC_SERVER_DURATION,
    unit="ms",
    description="gRPC server call duration, by service, method and status code.",
)

_telemetry_samples = _meter.create_counter(
    TELEMETRY_SAMPLES,
    unit="{sample}",
    description="Samples the telemetry service stored or found to be duplicates, by outcome.",
)
_telemetry_dead_letters = _meter.create_counter(
    TELEMETRY_DEAD_LETTERS,
    unit="{sample}",
    description="Samples the telemetry service dead-lettered, by reason.",
)
_telemetry_pushes = _meter.create_counter(
    TELEMETRY_PUSHES,
    unit="{call}",
    description="Telemetry's calls to goals (value, stale), by kind and outcome.",
)
_batch_size = _meter.create_histogram(
    BATCH_SIZE,
    unit="{request}",
    description="Requests written in one transaction by group commit, by kind and outcome.",
    explicit_bucket_boundaries_advisory=(1, 2, 4, 8, 16, 32, 64),
)


def batch_written(kind: str, size: int, outcome: str) -> None:
    """A group-commit batch of ``size`` requests was ``committed`` or ``rolled_back`` (its
    requests then written one by one)."""
    _batch_size.record(size, {"kind": kind, "outcome": outcome})


def telemetry_samples(outcome: str, count: int) -> None:
    if count:
        _telemetry_samples.add(count, {"outcome": outcome})


def telemetry_dead_lettered(reason: str) -> None:
    _telemetry_dead_letters.add(1, {"reason": reason})


def telemetry_pushed(kind: str, outcome: str) -> None:
    _telemetry_pushes.add(1, {"kind": kind, "outcome": outcome})


def check_in_recorded(count: int = 1) -> None:
    _check_ins.add(count)


def event_published(service: str, subject: str) -> None:
    _published.add(1, {"service": service, "subject": subject})


def event_consumed(consumer: str, subject: str, outcome: str, deliveries: int = 1) -> None:
    """One settled message; ``deliveries`` > 1 also counts a redelivery."""
    attributes = {"consumer": consumer, "subject": subject}
    _consumed.add(1, {**attributes, "outcome": outcome})
    if deliveries > 1:
        _redelivered.add(1, attributes)


def escalation_signalled(outcome: str) -> None:
    _escalations_signalled.add(1, {"outcome": outcome})


def rpc_served(full_method: str, code: str, milliseconds: float) -> None:
    """``full_method`` as gRPC names it: ``/package.Service/Method``."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    _rpc_duration.record(
        milliseconds,
        {
            "rpc.system": "grpc",
            "rpc.service": service,
            "rpc.method": method,
            "rpc.grpc.status_code": code,
        },
    )


class GaugeValues:
    """The latest polled values of a gauge, one per attribute set; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[tuple[str, str], ...], float] = {}

    def set(self, value: float, **attributes: str) -> None:
        with self._lock:
            self._values[tuple(sorted(attributes.items()))] = value

    def discard(self, **attributes: str) -> None:
        """Forget the series whose attributes include ``attributes`` (a stopped source)."""
        wanted = set(attributes.items())
        with self._lock:
            for key in [k for k in self._values if wanted <= set(k)]:
                del self._values[key]

    def observations(self) -> list[Observation]:
        with self._lock:
            return [Observation(v, dict(k)) for k, v in self._values.items()]


# service → (backlog, created_at of the oldest unpublished row or None).
_outbox: dict[str, tuple[int, datetime | None]] = {}
_outbox_lock = threading.Lock()
ESCALATION_LEVELS = GaugeValues()


def outbox_polled(service: str, backlog: int, oldest: datetime | None) -> None:
    with _outbox_lock:
        _outbox[service] = (backlog, oldest)


def outbox_forget(service: str) -> None:
    with _outbox_lock:
        _outbox.pop(service, None)


def outbox_age_seconds(oldest: datetime | None, now: datetime) -> float:
    """Age of the oldest unpublished event (0 when there is none).

    SQLite hands back naive datetimes; Stride stores UTC, so naive means UTC.
    """
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max((now - oldest).total_seconds(), 0.0)


def _observe_backlog(_options: CallbackOptions) -> Iterable[Observation]:
    with _outbox_lock:
        snapshot = dict(_outbox)
    return [Observation(n, {"service": s}) for s, (n, _) in snapshot.items()]


def _observe_age(_options: CallbackOptions) -> Iterable[Observation]:
    with _outbox_lock:
        snapshot = dict(_outbox)
    now = datetime.now(UTC)
    # Computed at collection time: the age keeps growing between polls while the relay is stuck.
    return [
        Observation(outbox_age_seconds(oldest, now), {"service": s})
        for s, (_, oldest) in snapshot.items()
    ]


def _observe_escalations(_options: CallbackOptions) -> Iterable[Observation]:
    return ESCALATION_LEVELS.observations()


_meter.create_observable_gauge(
    OUTBOX_BACKLOG,
    callbacks=[_observe_backlog],
    unit="{event}",
    description="Outbox rows not yet published to JetStream, by service.",
)
_meter.create_observable_gauge(
    OUTBOX_AGE,
    callbacks=[_observe_age],
    unit="s",
    description="Age of the oldest unpublished outbox row, by service (0 when empty).",
)
_meter.create_observable_gauge(
    ESCALATIONS_ACTIVE,
    callbacks=[_observe_escalations],
    unit="{workflow}",
    description="Running kr-escalation workflows by StrideRiskLevel (polled from visibility).",
)
