"""Sample validation: what a received sample must be before it is stored (pure).

A sample arrives on ``telemetry.ingest.<source>.<metric>`` (protobuf ``Sample`` bytes or the
same fields as JSON) or in an IngestSamples request. It is used only if its subject and
fields agree, its metric is defined with the same unit, its value is a finite number and its
event time is neither far in the future (a clock that is wrong) nor older than anything a
binding could still count. Anything else is dead-lettered with one of the stable reasons
below; nothing is dropped silently.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.protobuf.message import DecodeError

from stride.telemetry.v1 import telemetry_pb2 as pb
from workflows.vocabulary import TELEMETRY_DEADLETTER_PREFIX, TELEMETRY_INGEST_PREFIX

INGEST_PREFIX = TELEMETRY_INGEST_PREFIX
DEADLETTER_PREFIX = TELEMETRY_DEADLETTER_PREFIX
SOURCE_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
METRIC_PATTERN = re.compile(r"[a-z0-9_.-]{1,64}")
UNIT_MAX = 32
# A metric's expected interval at most a week (longer silences are absences, not intervals),
# and its description.
MAX_EXPECTED_INTERVAL_SECONDS = 7 * 24 * 3600
MAX_DESCRIPTION = 2000
SAMPLE_ID_MAX = 128
# Samples per IngestSamples request.
MAX_BATCH = 1000

UNKNOWN_METRIC = "unknown_metric"
WRONG_UNIT = "wrong_unit"
NOT_A_NUMBER = "not_a_number"
FUTURE_TIME = "future_time"
ANCIENT_TIME = "ancient_time"
BAD_SOURCE = "bad_source"
BAD_SAMPLE = "bad_sample"
REASONS: tuple[str, ...] = (
    UNKNOWN_METRIC,
    WRONG_UNIT,
    NOT_A_NUMBER,
    FUTURE_TIME,
    ANCIENT_TIME,
    BAD_SOURCE,
    BAD_SAMPLE,
)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    expected_interval_seconds: int = 0


@dataclass(frozen=True)
class ValidSample:
    source: str
    metric: str
    value: float
    event_time: datetime
    sample_id: str


@dataclass(frozen=True)
class Rejection:
    """Why a sample was not used: ``reason`` is a stable code, ``message`` says it in words."""

    reason: str
    message: str
    # As far as they could be read (dead-letter subject, counts).
    source: str = ""
    metric: str = ""


@dataclass(frozen=True)
class Limits:
    max_future: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=400)


def deadletter_subject(source: str, metric: str) -> str:
    """``telemetry.deadletter.<source>.<metric>``; a part that is not a valid name is ``_``."""
    s = source if SOURCE_PATTERN.fullmatch(source) else "_"
    m = metric if METRIC_PATTERN.fullmatch(metric) and "." not in metric else "_"
    return f"{DEADLETTER_PREFIX}{s}.{m}"


def subject_parts(subject: str) -> tuple[str, str] | Rejection:
    """(source, metric) of ``telemetry.ingest.<source>.<metric>`` (the metric may contain
    dots: everything after the source)."""
    if not subject.startswith(INGEST_PREFIX):
        return Rejection(BAD_SOURCE, f"not an ingest subject: {subject[:200]}")
    source, _, metric = subject[len(INGEST_PREFIX) :].partition(".")
    if not SOURCE_PATTERN.fullmatch(source) or not METRIC_PATTERN.fullmatch(metric):
        return Rejection(
            BAD_SOURCE, "the subject must be telemetry.ingest.<source>.<metric>", source, metric
        )
    return source, metric


def decode(payload: bytes) -> pb.Sample | Rejection:
    """A sample from protobuf bytes, or from JSON (an object with the Sample's fields)."""
    text = payload.lstrip()
    if text.startswith(b"{"):
        return _from_json(text)
    try:
        return pb.Sample.FromString(payload)
    except DecodeError:
        return Rejection(BAD_SAMPLE, "neither a protobuf Sample nor a JSON object")


def _from_json(text: bytes) -> pb.Sample | Rejection:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return Rejection(BAD_SAMPLE, "not valid JSON")
    if not isinstance(data, dict):
        return Rejection(BAD_SAMPLE, "a JSON sample is an object")
    source, metric = data.get("source", ""), data.get("metric", "")
    strings = ("source", "metric", "unit", "event_time", "sample_id")
    if any(not isinstance(data.get(k, ""), str) for k in strings):
        return Rejection(BAD_SAMPLE, f"{', '.join(strings)} are strings", str(source), str(metric))
    value = data.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Rejection(NOT_A_NUMBER, "value must be a number", source, metric)
    try:
        return pb.Sample(
            source=source,
            metric=metric,
            value=float(value),
            unit=data.get("unit", ""),
            event_time=data.get("event_time", ""),
            sample_id=data.get("sample_id", ""),
        )
    except OverflowError:
        return Rejection(NOT_A_NUMBER, "value is out of range", source, metric)


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time with an offset (``Z`` or ``+08:00``); None if it is not one."""
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def validate(
    sample: pb.Sample,
    metrics: Mapping[str, MetricSpec],
    now: datetime,
    limits: Limits = Limits(),
    *,
    subject: tuple[str, str] | None = None,
    not_before: Mapping[str, datetime] | None = None,
) -> ValidSample | Rejection:
    """The sample if it can be used, else why not.

    ``subject``: the (source, metric) of the subject it arrived on; fields left empty in the
    payload are taken from it, fields given must agree with it. ``not_before``: per metric,
    the earliest time a binding can count (the start of the earliest bound cycle): older
    samples are ``ancient_time`` like those older than ``limits.max_age``.
    """
    source, metric = sample.source, sample.metric
    if subject is not None:
        source, metric = source or subject[0], metric or subject[1]
        if (source, metric) != subject:
            return Rejection(
                BAD_SOURCE,
                f"the payload names {source}/{metric} but arrived on {subject[0]}/{subject[1]}",
                *subject,
            )
    if not SOURCE_PATTERN.fullmatch(source):
        return Rejection(BAD_SOURCE, "source must be 1-64 of a-z 0-9 _ -", source, metric)
    if not METRIC_PATTERN.fullmatch(metric):
        return Rejection(BAD_SAMPLE, "metric must be 1-64 of a-z 0-9 _ . -", source, metric)
    if not sample.sample_id or len(sample.sample_id) > SAMPLE_ID_MAX:
        return Rejection(BAD_SAMPLE, "sample_id must be 1-128 characters", source, metric)
    spec = metrics.get(metric)
    if spec is None:
        return Rejection(UNKNOWN_METRIC, f"metric {metric} is not defined", source, metric)
    if sample.unit != spec.unit:
        return Rejection(
            WRONG_UNIT, f"{metric} is in {spec.unit!r}, not {sample.unit!r}", source, metric
        )
    if not math.isfinite(sample.value):
        return Rejection(NOT_A_NUMBER, "value must be a finite number", source, metric)
    at = parse_time(sample.event_time)
    if at is None:
        return Rejection(BAD_SAMPLE, "event_time must be RFC 3339 with an offset", source, metric)
    if at > now + limits.max_future:
        return Rejection(FUTURE_TIME, "event_time is too far in the future", source, metric)
    floor = now - limits.max_age
    bound = (not_before or {}).get(metric)
    if at < floor or (bound is not None and at < bound):
        return Rejection(
            ANCIENT_TIME, "event_time is before anything it could count in", source, metric
        )
    return ValidSample(source, metric, float(sample.value), at.astimezone(UTC), sample.sample_id)
