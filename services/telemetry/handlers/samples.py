"""Samples: the one ingestion path (NATS batches and IngestSamples alike) and window queries.

``ingest`` validates a batch with the pure rules (domain/samples.py), then in one transaction
stores the usable samples (a (source, sample_id) seen before is a duplicate and changes
nothing), keeps a row for each unusable one, marks the bindings they feed dirty (and no
longer stale), and commits. Only then are dead letters published to
``telemetry.deadletter.<source>.<metric>`` and the push scheduler woken; the NATS consumer
acks after that, so a crash anywhere redelivers the batch and redelivery is harmless.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import structlog
from sqlalchemy import update

from services.common import metrics
from services.common.errors import InvalidArgument
from services.common.models import aware, rfc3339, utcnow
from services.common.outbox import new_event_meta
from services.telemetry.domain import samples as rules
from services.telemetry.domain.aggregation import Aggregation, Result, finish
from services.telemetry.domain.samples import Rejection, ValidSample
from services.telemetry.domain.windows import Bounds, Window, bounds
from services.telemetry.handlers.bindings import checked_shape
from services.telemetry.handlers.shared import Deps, Uow
from services.telemetry.models import Binding
from services.telemetry.repository import TelemetryRepository
from stride.telemetry.v1 import telemetry_pb2 as pb

log = structlog.get_logger(__name__)

# Dead-letter ids of NATS messages are derived from where they came from, so a redelivered
# message is kept (and published, Nats-Msg-Id) once.
_DEAD_LETTER_NS = uuid.UUID("6f1d9a57-2a5e-4b8e-9d55-0c4f1a7e3b21")
HTTP_SUBJECT = "http"


@dataclass(frozen=True)
class Received:
    """One message as received: its subject ("http" for IngestSamples), its bytes or
    already-decoded sample, and a key that identifies this delivery's message."""

    subject: str
    payload: bytes
    sample: pb.Sample | None = None
    key: str = ""


@dataclass
class Outcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str, Rejection]] = field(default_factory=list)


def _check(
    item: Received,
    specs: dict[str, rules.MetricSpec],
    now: datetime,
    deps: Deps,
    not_before: dict[str, datetime],
) -> ValidSample | Rejection:
    subject: tuple[str, str] | None = None
    if item.sample is None:
        parts = rules.subject_parts(item.subject)
        if isinstance(parts, Rejection):
            return parts
        subject = parts
        decoded = rules.decode(item.payload)
        if isinstance(decoded, Rejection):
            return Rejection(decoded.reason, decoded.message, *parts)
        sample = decoded
    else:
        sample = item.sample
    return rules.validate(sample, specs, now, deps.limits, subject=subject, not_before=not_before)


def _names(item: Received) -> str:
    if item.sample is not None:
        return item.sample.metric
    parts = rules.subject_parts(item.subject)
    return "" if isinstance(parts, Rejection) else parts[1]


async def ingest(deps: Deps, items: Sequence[Received]) -> Outcome:
    """Store a batch (see the module docstring); what happened to each item."""
    now = utcnow()
    outcome = Outcome()
    dead: list[tuple[dict[str, object], pb.DeadLetter]] = []
    async with deps.units() as uow:
        wanted = {n for n in map(_names, items) if n}
        specs = await uow.repo.metric_specs(wanted)
        not_before = await uow.repo.not_before(wanted)
        valid: list[ValidSample] = []
        for index, item in enumerate(items):
            checked = _check(item, specs, now, deps, not_before)
            if isinstance(checked, ValidSample):
                valid.append(checked)
                continue
            sample_id = item.sample.sample_id if item.sample is not None else ""
            outcome.rejected.append((index, sample_id, checked))
            dead.append(_dead_letter(item, checked, now))
        # The same sample twice in one batch is one sample.
        unique = {(s.source, s.sample_id): s for s in valid}
        inserted = await uow.repo.insert_samples(
            [
                {
                    "source": s.source,
                    "sample_id": s.sample_id,
                    "metric": s.metric,
                    "value": s.value,
                    "event_time": s.event_time,
                    "received_at": now,
                }
                for s in unique.values()
            ]
        )
        outcome.accepted = len(inserted)
        outcome.duplicates = len(valid) - len(inserted)
        await uow.repo.insert_dead_letters([row for row, _ in dead])
        fresh = [unique[k] for k in inserted]
        touched = await _mark_bindings(uow, fresh, now) if fresh else 0
    if dead:
        await asyncio.gather(*(_publish(deps, row, message) for row, message in dead))
    metrics.telemetry_samples("accepted", outcome.accepted)
    metrics.telemetry_samples("duplicate", outcome.duplicates)
    for _i, _s, rejection in outcome.rejected:
        metrics.telemetry_dead_lettered(rejection.reason)
    if touched:
        deps.wake_pusher()
    return outcome


async def _publish(deps: Deps, row: dict[str, object], message: pb.DeadLetter) -> None:
    subject = rules.deadletter_subject(str(row["source"]), str(row["metric"]))
    try:
        await deps.publish(subject, message.SerializeToString(), message.id)
    except Exception:  # kept as a row either way; ListDeadLetters shows it
        log.warning("dead letter not published", subject=subject, id=message.id)


def _dead_letter(
    item: Received, rejection: Rejection, now: datetime
) -> tuple[dict[str, object], pb.DeadLetter]:
    payload = item.payload if item.sample is None else item.sample.SerializeToString()
    dl_id = (
        str(uuid.uuid5(_DEAD_LETTER_NS, f"{item.subject}|{item.key}"))
        if item.key
        else str(uuid.uuid4())
    )
    row: dict[str, object] = {
        "id": dl_id,
        "subject": item.subject[:300],
        "reason": rejection.reason,
        "message": rejection.message,
        "payload": payload,
        "source": rejection.source[:64],
        "metric": rejection.metric[:64],
        "received_at": now,
    }
    message = pb.DeadLetter(
        id=dl_id,
        subject=item.subject,
        reason=rejection.reason,
        message=rejection.message,
        payload=payload,
        received_at=rfc3339(now),
    )
    return row, message


def _feeds(binding: Binding, sample: ValidSample) -> bool:
    if binding.source and binding.source != sample.source:
        return False
    return sample.metric in (binding.metric, binding.denominator_metric)


async def _mark_bindings(uow: Uow, fresh: Sequence[ValidSample], now: datetime) -> int:
    """Mark every binding a new sample feeds dirty, note when it last heard from its source,
    and clear a stale one (SourceStalenessChanged). The number of bindings touched."""
    touched = 0
    dirty: list[str] = []
    for binding in await uow.repo.bindings_fed_by({s.metric for s in fresh}):
        feeding = [s for s in fresh if _feeds(binding, s)]
        if not feeding:
            continue
        touched += 1
        dirty.append(binding.id)
        binding.last_arrival_at = now
        newest = max(s.event_time for s in feeding)
        known = aware(binding.last_sample_at)
        if known is None or newest > known:
            binding.last_sample_at = newest
        if binding.stale:
            binding.stale = False
            await uow.emit(
                pb.SourceStalenessChanged(
                    meta=new_event_meta("telemetry"),
                    binding_id=binding.id,
                    key_result_id=binding.key_result_id,
                    stale=False,
                    last_sample_at=rfc3339(binding.last_sample_at),
                )
            )
    if dirty:
        # Written by a statement, not through the loaded rows: the push scheduler may have
        # claimed a binding (dirty = false) since this transaction read it as dirty, and
        # setting an attribute to the value it was read with writes nothing (the new samples
        # would then wait for the next one to be pushed).
        await uow.session.execute(update(Binding).where(Binding.id.in_(dirty)).values(dirty=True))
    return touched


async def ingest_request(deps: Deps, request: pb.IngestSamplesRequest) -> pb.IngestSamplesResponse:
    if len(request.samples) > rules.MAX_BATCH:
        raise InvalidArgument("too_many_samples", f"at most {rules.MAX_BATCH} samples per request")
    outcome = await ingest(deps, [Received(HTTP_SUBJECT, b"", sample=s) for s in request.samples])
    return pb.IngestSamplesResponse(
        accepted=outcome.accepted,
        duplicates=outcome.duplicates,
        rejected=[
            pb.Rejected(index=i, sample_id=sid, reason=r.reason, message=r.message)
            for i, sid, r in outcome.rejected
        ],
    )


# -- windows ------------------------------------------------------------------------------------
async def window_value(
    deps: Deps,
    repo: TelemetryRepository,
    *,
    metric: str,
    source: str,
    aggregation: Aggregation,
    window: Window,
    denominator: str,
    percentile: float,
    at: datetime,
    time_zone: str,
    cycle_start: date | None,
) -> tuple[Result, Bounds]:
    """A window's aggregate recomputed from the stored samples in it."""
    span = bounds(window, at, time_zone, shifts=deps.shifts, cycle_start=cycle_start)
    summary = await repo.summary(
        metric,
        source,
        span.start,
        span.end,
        keep_values=aggregation is Aggregation.PERCENTILE,
    )
    den = (
        await repo.summary(denominator, source, span.start, span.end)
        if aggregation is Aggregation.RATIO
        else None
    )
    return finish(aggregation, summary, denominator=den, p=percentile), span


async def query_window(deps: Deps, request: pb.QueryWindowRequest) -> pb.WindowValue:
    aggregation, window = checked_shape(
        request.aggregation, request.window, request.denominator_metric, request.percentile
    )
    at = utcnow()
    if request.at:
        parsed = rules.parse_time(request.at)
        if parsed is None:
            raise InvalidArgument("invalid_at", "at must be RFC 3339 with an offset")
        at = parsed
    cycle_start: date | None = None
    if Window(window) is Window.CYCLE_TO_DATE:
        try:
            cycle_start = date.fromisoformat(request.cycle_start)
        except ValueError as exc:
            raise InvalidArgument(
                "invalid_cycle_start", "a cycle-to-date window needs cycle_start (YYYY-MM-DD)"
            ) from exc
    async with deps.reading() as repo:
        if await repo.metric(request.metric) is None:
            raise InvalidArgument("unknown_metric", f"metric {request.metric} is not defined")
        result, span = await window_value(
            deps,
            repo,
            metric=request.metric,
            source=request.source,
            aggregation=aggregation,
            window=Window(window),
            denominator=request.denominator_metric,
            percentile=request.percentile,
            at=at,
            time_zone=deps.time_zone,
            cycle_start=cycle_start,
        )
    return pb.WindowValue(
        value=result.value,
        count=result.count,
        window_start=rfc3339(span.start),
        window_end=rfc3339(span.end),
        empty=result.empty,
    )
