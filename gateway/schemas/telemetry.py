"""Bodies of the telemetry routes: /telemetry/samples, /metrics, /bindings, /windows and
/dead-letters (the rules: services/telemetry, docs/telemetry.md).

A batch of samples is checked here for its shape only (at most MAX_TELEMETRY_BATCH objects,
each with its six fields of the right JSON types): a batch of the wrong shape is a 422
``validation_error`` and nothing of it is kept. What is wrong with one sample's content (an
unknown metric, a wrong unit, NaN, a time far in the future or the past, a source that is not
a name) is the telemetry service's to judge: that sample is rejected with its reason and
dead-lettered, the rest of the batch is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from pydantic import Field, StringConstraints, model_validator

from gateway.schemas.common import HumanText, Id, RequestModel, ResponseModel
from gateway.schemas.words import one_of, proto_words
from services.telemetry.domain.samples import (
    MAX_BATCH,
    MAX_DESCRIPTION,
    MAX_EXPECTED_INTERVAL_SECONDS,
    METRIC_PATTERN,
    SAMPLE_ID_MAX,
    SOURCE_PATTERN,
    UNIT_MAX,
)
from stride.telemetry.v1 import telemetry_pb2

if TYPE_CHECKING:
    AggregationName: TypeAlias = str
    AggregationOut: TypeAlias = str
    WindowName: TypeAlias = str
    WindowOut: TypeAlias = str
else:
    _AGGREGATIONS = proto_words(telemetry_pb2.Aggregation.DESCRIPTOR)
    _WINDOWS = proto_words(telemetry_pb2.WindowKind.DESCRIPTOR)
    AggregationName = one_of(*_AGGREGATIONS[1:])
    AggregationOut = one_of(*_AGGREGATIONS)
    WindowName = one_of(*_WINDOWS[1:])
    WindowOut = one_of(*_WINDOWS)

# The telemetry service's own rules for names (services/telemetry/domain/samples.py).
SOURCE_NAME = f"^{SOURCE_PATTERN.pattern}$"
METRIC_NAME = f"^{METRIC_PATTERN.pattern}$"

SourceName = Annotated[str, StringConstraints(max_length=64, pattern=SOURCE_NAME)]
MetricName = Annotated[str, StringConstraints(max_length=64, pattern=METRIC_NAME)]


def or_empty(pattern: str) -> str:
    """``^x$`` → ``^(?:x)?$``: the same names, or nothing."""
    return f"^(?:{pattern.removeprefix('^').removesuffix('$')})?$"


# "" = every source of the metric (bindings, windows); "" = no denominator.
AnySource = Annotated[str, StringConstraints(max_length=64, pattern=or_empty(SOURCE_NAME))]
OptionalMetric = Annotated[str, StringConstraints(max_length=64, pattern=or_empty(METRIC_NAME))]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, max_length=UNIT_MAX)]
Percentile = Annotated[float, Field(strict=True, ge=0, le=100, allow_inf_nan=False)]
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-1e12, le=1e12)]


# -- samples ------------------------------------------------------------------------------------


class SampleIn(RequestModel):
    """One measurement, as a device would publish it on NATS."""

    source: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="e.g. line-a, mes, crm ([a-z0-9_-], ≤ 64; otherwise rejected bad_source)"
    )
    metric: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="a defined metric (otherwise rejected unknown_metric)"
    )
    value: float = Field(description="a JSON number (NaN or infinite: rejected not_a_number)")
    unit: Annotated[str, StringConstraints(max_length=UNIT_MAX)] = Field(
        default="", description="must equal the metric's unit (otherwise rejected wrong_unit)"
    )
    event_time: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="RFC 3339, when it happened at the source (rejected future_time, "
        "ancient_time or bad_sample)"
    )
    sample_id: Annotated[str, StringConstraints(min_length=1, max_length=SAMPLE_ID_MAX)] = Field(
        description="the sender's idempotency key, unique per source"
    )


class SampleBatch(RequestModel):
    samples: Annotated[list[SampleIn], Field(min_length=1, max_length=MAX_BATCH)]


class RejectedSample(ResponseModel):
    index: int = Field(description="position in the batch, from 0")
    sample_id: str
    reason: str = Field(
        description="unknown_metric, wrong_unit, not_a_number, future_time, ancient_time, "
        "bad_source or bad_sample"
    )
    message: str


class IngestResult(ResponseModel):
    accepted: int
    duplicates: int = Field(description="already received (same source and sample_id)")
    rejected: list[RejectedSample] = Field(description="also in the dead letters")


# -- metrics ------------------------------------------------------------------------------------


class MetricCreate(RequestModel):
    name: MetricName
    unit: Unit = ""
    description: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=MAX_DESCRIPTION),
        HumanText(required=False, multiline=True),
    ] = ""
    expected_interval_seconds: Annotated[int, Field(ge=0, le=MAX_EXPECTED_INTERVAL_SECONDS)] = (
        Field(
            default=0,
            description="a bound source silent for longer makes its key result stale (0: never)",
        )
    )


class Metric(ResponseModel):
    name: str
    unit: str
    description: str
    expected_interval_seconds: int
    created_at: str


# -- bindings -----------------------------------------------------------------------------------


class Transform(RequestModel):
    """value shown on the key result = aggregate × scale + offset"""

    scale: Finite = 1.0
    offset: Finite = 0.0

    @model_validator(mode="after")
    def _scale_not_zero(self) -> Transform:
        if self.scale == 0:
            raise ValueError("scale must not be 0 (a key result that always shows the offset)")
        return self


class TransformOut(ResponseModel):
    scale: float
    offset: float


class BindingCreate(RequestModel):
    key_result_id: Id = Field(description="a key result whose data_source is telemetry")
    metric: MetricName
    source: AnySource = Field(default="", description='"" = every source of the metric')
    aggregation: AggregationName
    window: WindowName
    transform: Transform | None = None
    denominator_metric: OptionalMetric = Field(default="", description="ratio only")
    percentile: Percentile = Field(default=0, description="percentile only (0 < p ≤ 100)")

    @model_validator(mode="after")
    def _parameters_of_the_aggregation(self) -> BindingCreate:
        if (self.aggregation == "ratio") != bool(self.denominator_metric):
            raise ValueError("denominator_metric is required by ratio and only by ratio")
        if (self.aggregation == "percentile") != (self.percentile > 0):
            raise ValueError("percentile (0 < p ≤ 100) is required by percentile and only by it")
        return self


class Binding(ResponseModel):
    id: str
    key_result_id: str
    metric: str
    source: str
    aggregation: AggregationOut
    window: WindowOut
    transform: TransformOut | None
    denominator_metric: str
    percentile: float
    created_by: str
    created_at: str
    stale: bool
    last_sample_at: str
    last_value: float
    last_pushed_at: str


# -- windows and dead letters -------------------------------------------------------------------


class WindowValue(ResponseModel):
    value: float
    count: int = Field(description="samples in the window")
    window_start: str
    window_end: str
    empty: bool = Field(description="no sample in the window (value is 0)")


class DeadLetter(ResponseModel):
    id: str
    subject: str = Field(description='the NATS subject it arrived on, or "http"')
    reason: str
    message: str
    payload_base64: str = Field(description="what was received, as received")
    received_at: str


class DeadLetterPage(ResponseModel):
    items: list[DeadLetter]
    next_page_token: str = ""
    counts_by_reason: dict[str, int] = Field(description="every dead letter kept, by reason")
