"""Rows → protobuf messages, and the enum words of the wire ↔ the domain's."""

from __future__ import annotations

from services.common.models import rfc3339
from services.telemetry.domain.aggregation import Aggregation
from services.telemetry.domain.windows import Window
from services.telemetry.models import Binding, DeadLetter, Metric
from stride.telemetry.v1 import telemetry_pb2 as pb

AGGREGATIONS: dict[int, Aggregation] = {
    pb.AGGREGATION_AVG: Aggregation.AVG,
    pb.AGGREGATION_SUM: Aggregation.SUM,
    pb.AGGREGATION_COUNT: Aggregation.COUNT,
    pb.AGGREGATION_MIN: Aggregation.MIN,
    pb.AGGREGATION_MAX: Aggregation.MAX,
    pb.AGGREGATION_LAST: Aggregation.LAST,
    pb.AGGREGATION_RATIO: Aggregation.RATIO,
    pb.AGGREGATION_PERCENTILE: Aggregation.PERCENTILE,
}
AGGREGATION_NUMBERS = {word: number for number, word in AGGREGATIONS.items()}
WINDOWS: dict[int, Window] = {
    pb.WINDOW_KIND_SHIFT: Window.SHIFT,
    pb.WINDOW_KIND_DAY: Window.DAY,
    pb.WINDOW_KIND_WEEK: Window.WEEK,
    pb.WINDOW_KIND_CYCLE_TO_DATE: Window.CYCLE_TO_DATE,
}
WINDOW_NUMBERS = {word: number for number, word in WINDOWS.items()}


def metric_pb(row: Metric) -> pb.Metric:
    return pb.Metric(
        name=row.name,
        unit=row.unit,
        description=row.description,
        expected_interval_seconds=row.expected_interval_seconds,
        created_at=rfc3339(row.created_at),
    )


def binding_pb(row: Binding) -> pb.Binding:
    return pb.Binding(
        id=row.id,
        key_result_id=row.key_result_id,
        metric=row.metric,
        source=row.source,
        aggregation=AGGREGATION_NUMBERS[Aggregation(row.aggregation)],  # type: ignore[arg-type]
        window=WINDOW_NUMBERS[Window(row.window)],  # type: ignore[arg-type]
        transform=pb.Transform(scale=row.scale, offset=row.offset),
        denominator_metric=row.denominator_metric,
        percentile=row.percentile,
        created_by=row.created_by,
        created_at=rfc3339(row.created_at),
        stale=row.stale,
        last_sample_at=rfc3339(row.last_sample_at),
        last_value=row.last_value or 0.0,
        last_pushed_at=rfc3339(row.last_pushed_at),
    )


def dead_letter_pb(row: DeadLetter) -> pb.DeadLetter:
    return pb.DeadLetter(
        id=row.id,
        subject=row.subject,
        reason=row.reason,
        message=row.message,
        payload=row.payload,
        received_at=rfc3339(row.received_at),
    )
