"""Aggregations over a window, recomputed from its samples by event time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.telemetry.domain.aggregation import (
    Aggregation,
    Point,
    Summary,
    finish,
    percentile,
    summarize,
    transformed,
)

T0 = datetime(2026, 12, 3, 8, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


POINTS = [Point(at(10), 4.0, "b"), Point(at(0), 1.0, "a"), Point(at(5), 10.0, "c")]


@pytest.mark.parametrize(
    ("aggregation", "value"),
    [
        (Aggregation.AVG, 5.0),
        (Aggregation.SUM, 15.0),
        (Aggregation.COUNT, 3.0),
        (Aggregation.MIN, 1.0),
        (Aggregation.MAX, 10.0),
        (Aggregation.LAST, 4.0),  # by event time, not by position or arrival
    ],
)
def test_each_aggregation(aggregation: Aggregation, value: float) -> None:
    result = finish(aggregation, summarize(POINTS))
    assert result.value == value and result.count == 3 and not result.empty
    assert result.newest == at(10)


def test_the_order_samples_arrive_in_does_not_matter() -> None:
    for order in (POINTS, POINTS[::-1], POINTS[1:] + POINTS[:1]):
        assert finish(Aggregation.LAST, summarize(order)).value == 4.0


def test_last_breaks_a_tie_of_event_times_by_sample_id() -> None:
    tied = [Point(at(1), 2.0, "b"), Point(at(1), 3.0, "a")]
    assert finish(Aggregation.LAST, summarize(tied)).value == 2.0


def test_ratio_of_two_metrics() -> None:
    complaints = summarize([Point(at(0), 3.0), Point(at(1), 1.0)])
    shipped = summarize([Point(at(0), 100.0), Point(at(2), 300.0)])
    result = finish(Aggregation.RATIO, complaints, denominator=shipped)
    assert result.value == pytest.approx(0.01) and result.newest == at(2)
    nothing = finish(Aggregation.RATIO, complaints, denominator=Summary())
    assert nothing.empty and nothing.value == 0


def test_percentile_interpolates_like_percentile_cont() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert percentile(values, 50) == 35.0
    assert percentile(values, 40) == pytest.approx(29.0)
    assert percentile(values, 100) == 50.0
    summary = summarize([Point(at(i), v) for i, v in enumerate(values)], keep_values=True)
    assert finish(Aggregation.PERCENTILE, summary, p=90).value == pytest.approx(46.0)
    with pytest.raises(ValueError):
        percentile(values, 0)


def test_an_empty_window_is_zero_and_says_so() -> None:
    result = finish(Aggregation.AVG, summarize([]))
    assert (result.value, result.count, result.empty, result.newest) == (0.0, 0, True, None)


def test_transform() -> None:
    assert transformed(0.97, 100, 0) == pytest.approx(97)
    assert transformed(5, 0, 1) == 6  # a scale of 0 means 1


def test_only_an_empty_count_or_sum_is_a_real_zero() -> None:
    from services.telemetry.domain.aggregation import empty_is_zero

    assert empty_is_zero(Aggregation.COUNT) and empty_is_zero(Aggregation.SUM)
    for other in (Aggregation.AVG, Aggregation.LAST, Aggregation.RATIO, Aggregation.PERCENTILE):
        assert not empty_is_zero(other)
