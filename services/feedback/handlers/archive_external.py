"""The archive's external metrics: what machines, the MES and the CRM measured for a person.

A person's external metrics in a cycle are the metrics bound (telemetry bindings) to the
key results they own in that cycle, each aggregated the binding's way over the whole cycle
— from its first day to its last (or to now while it runs). Keyed by ``metric`` or
``metric@source`` when the binding names one source; a person with two key results bound
to the same metric and source gets it once (the first key result's, by id).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.common.errors import InvalidArgument
from services.feedback.clients import Goals, Telemetry
from stride.goals.v1 import goals_pb2
from stride.telemetry.v1 import telemetry_pb2
from workflows.calendar import rfc3339

_AGGREGATION_PREFIX = "AGGREGATION_"


def metric_key(binding: telemetry_pb2.Binding) -> str:
    return f"{binding.metric}@{binding.source}" if binding.source else binding.metric


def window_end(cycle_end: date, time_zone: str, now: datetime) -> datetime:
    """The last second of the cycle's last day in org time, or ``now`` if that is earlier
    (returned as given)."""
    tz = ZoneInfo(time_zone)
    last = datetime.combine(cycle_end + timedelta(days=1), time(), tz) - timedelta(seconds=1)
    return now if now <= last else last


def entry(
    binding: telemetry_pb2.Binding,
    key_result: goals_pb2.KeyResult,
    unit: str,
    value: telemetry_pb2.WindowValue,
) -> dict[str, Any]:
    aggregation = telemetry_pb2.Aggregation.Name(binding.aggregation)
    out: dict[str, Any] = {
        "metric": binding.metric,
        "source": binding.source,
        "unit": unit,
        "aggregation": aggregation.removeprefix(_AGGREGATION_PREFIX).lower(),
        # No sample in the cycle: no value (not a 0 nobody measured).
        "value": None if value.empty else value.value,
        "samples": value.count,
        "from": value.window_start,
        "to": value.window_end,
        "key_result_id": key_result.id,
        "key_result_title": key_result.title,
    }
    if binding.denominator_metric:
        out["denominator_metric"] = binding.denominator_metric
    if binding.aggregation == telemetry_pb2.AGGREGATION_PERCENTILE:
        out["percentile"] = binding.percentile
    return out


async def external_metrics(
    telemetry: Telemetry, goals: Goals, cycle: goals_pb2.Cycle, time_zone: str, now: datetime
) -> dict[str, dict[str, dict[str, Any]]]:
    """employee id → metric key → its entry, for the key results of ``cycle``."""
    end = window_end(date.fromisoformat(cycle.end_date), time_zone, now)
    # While the cycle runs: telemetry's own now ("" — to the microsecond; RFC 3339 here would
    # drop the samples of the current second).
    at = "" if end >= now else rfc3339(end)
    units: dict[str, str] = {}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for binding in sorted(await telemetry.bindings(), key=lambda b: b.key_result_id):
        try:
            key_result = await goals.key_result(binding.key_result_id)
        except InvalidArgument:  # deleted since it was bound
            continue
        if key_result.cycle_id != cycle.id or not key_result.owner_id:
            continue
        mine = out.setdefault(key_result.owner_id, {})
        key = metric_key(binding)
        if key in mine:
            continue
        if binding.metric not in units:
            units[binding.metric] = await telemetry.unit(binding.metric)
        value = await telemetry.cycle_value(binding, cycle.start_date, at)
        mine[key] = entry(binding, key_result, units[binding.metric], value)
    return out
