"""Sample validation: every way a sample can be unusable has its stable reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.telemetry.domain import samples as rules
from services.telemetry.domain.samples import MetricSpec, Rejection, ValidSample
from stride.telemetry.v1 import telemetry_pb2 as pb

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)
METRICS = {"yield_pct": MetricSpec("yield_pct", "%", 60)}


def sample(**kw: object) -> pb.Sample:
    fields: dict[str, object] = {
        "source": "line-a",
        "metric": "yield_pct",
        "value": 97.5,
        "unit": "%",
        "event_time": "2026-12-03T15:59:00+08:00",
        "sample_id": "s1",
    }
    fields.update(kw)
    return pb.Sample(**fields)  # type: ignore[arg-type]


def reason(result: ValidSample | Rejection) -> str:
    return result.reason if isinstance(result, Rejection) else "ok"


def test_a_good_sample_is_stored_in_utc() -> None:
    result = rules.validate(sample(), METRICS, NOW, subject=("line-a", "yield_pct"))
    assert isinstance(result, ValidSample)
    assert result.event_time == datetime(2026, 12, 3, 7, 59, tzinfo=UTC)
    assert result.event_time.tzinfo is UTC


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"metric": "nope"}, "unknown_metric"),
        ({"unit": "ppm"}, "wrong_unit"),
        ({"value": float("nan")}, "not_a_number"),
        ({"value": float("inf")}, "not_a_number"),
        ({"event_time": "2026-12-03T08:06:00Z"}, "future_time"),
        ({"event_time": "2025-10-01T00:00:00Z"}, "ancient_time"),
        ({"event_time": "yesterday"}, "bad_sample"),
        ({"event_time": "2026-12-03T07:00:00"}, "bad_sample"),  # no offset
        ({"sample_id": ""}, "bad_sample"),
        ({"source": "Line A"}, "bad_source"),
    ],
)
def test_each_reason(changes: dict[str, object], expected: str) -> None:
    assert reason(rules.validate(sample(**changes), METRICS, NOW)) == expected


def test_a_sample_four_minutes_ahead_is_accepted() -> None:
    ahead = sample(event_time="2026-12-03T08:04:00Z")
    assert reason(rules.validate(ahead, METRICS, NOW)) == "ok"


def test_before_the_bound_cycle_is_ancient() -> None:
    floor = {"yield_pct": datetime(2026, 12, 3, 7, 59, 30, tzinfo=UTC)}
    assert reason(rules.validate(sample(), METRICS, NOW, not_before=floor)) == "ancient_time"


def test_the_subject_fills_and_must_agree_with_the_payload() -> None:
    filled = rules.validate(
        sample(source="", metric=""), METRICS, NOW, subject=("line-a", "yield_pct")
    )
    assert isinstance(filled, ValidSample) and filled.source == "line-a"
    other = rules.validate(sample(), METRICS, NOW, subject=("line-b", "yield_pct"))
    assert reason(other) == "bad_source"


def test_subjects() -> None:
    assert rules.subject_parts("telemetry.ingest.line-a.oee.line") == ("line-a", "oee.line")
    assert reason(rules.subject_parts("telemetry.ingest.line-a")) == "bad_source"  # type: ignore[arg-type]
    assert reason(rules.subject_parts("other.line-a.x")) == "bad_source"  # type: ignore[arg-type]
    assert (
        rules.deadletter_subject("line-a", "yield_pct") == "telemetry.deadletter.line-a.yield_pct"
    )
    assert rules.deadletter_subject("Bad Source", "a.b") == "telemetry.deadletter._._"


def test_payloads_protobuf_or_json() -> None:
    assert rules.decode(sample().SerializeToString()) == sample()
    as_json = json.dumps(
        {"value": 3, "unit": "%", "event_time": "2026-12-03T07:00:00Z", "sample_id": "j"}
    )
    decoded = rules.decode(as_json.encode())
    assert isinstance(decoded, pb.Sample) and decoded.value == 3.0
    assert reason(rules.decode(b'{"value": "high"}')) == "not_a_number"  # type: ignore[arg-type]
    assert reason(rules.decode(b'{"value": true}')) == "not_a_number"  # type: ignore[arg-type]
    assert reason(rules.decode(b"{not json")) == "bad_sample"  # type: ignore[arg-type]
    assert reason(rules.decode(b"\xff\x00garbage")) == "bad_sample"  # type: ignore[arg-type]
    assert reason(rules.decode(b"[1, 2]")) == "bad_sample"  # type: ignore[arg-type]


def test_a_json_nan_value_is_not_a_number_once_validated() -> None:
    decoded = rules.decode(
        b'{"value": NaN, "unit": "%", "event_time": "2026-12-03T07:00:00Z", "sample_id": "x"}'
    )
    assert isinstance(decoded, pb.Sample)
    result = rules.validate(decoded, METRICS, NOW, subject=("line-a", "yield_pct"))
    assert reason(result) == "not_a_number"


def test_limits_are_configurable() -> None:
    limits = rules.Limits(max_future=timedelta(hours=2), max_age=timedelta(days=1))
    ahead = sample(event_time="2026-12-03T09:00:00Z")
    assert reason(rules.validate(ahead, METRICS, NOW, limits)) == "ok"
    old = sample(event_time="2026-12-01T09:00:00Z")
    assert reason(rules.validate(old, METRICS, NOW, limits)) == "ancient_time"
