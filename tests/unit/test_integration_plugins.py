"""The plugin interface: discovery through entry points (a broken plugin is skipped, the
others load), the rules a source's samples must keep, settings and sample ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint

import pytest
from temporalio import activity

from activities.integrations import IntegrationActivities
from services.integrations import Metric, MetricSource, Plugin, PluginError, PullContext, Sample
from services.integrations.api import check_samples, plugin_settings, stable_id
from services.integrations.discovery import discover
from services.integrations.testing import pull_once

AT = datetime(2026, 12, 1, 8, tzinfo=UTC)


class Temperatures(MetricSource):
    name = "ovens"
    metrics = (Metric("oven_temp_c", "°C", timedelta(minutes=5)),)
    interval = timedelta(minutes=5)

    def __init__(self, emit: Sequence[Sample] = ()) -> None:
        self.emit = list(emit)

    async def pull(self, ctx: PullContext) -> Sequence[Sample]:
        return self.emit


good = Plugin(name="ovens", sources=[Temperatures()])
not_a_plugin = {"name": "dict"}


def make_good() -> Plugin:
    return Plugin(name="factory-made", sources=[Temperatures()])


def failing_factory() -> Plugin:
    raise RuntimeError("config file missing")


def bad_metric() -> Plugin:
    class Bad(Temperatures):
        metrics = (Metric("Oven Temp", "°C"),)

    return Plugin(name="bad-metric", sources=[Bad()])


def entry(name: str, attr: str) -> EntryPoint:
    return EntryPoint(name, f"{__name__}:{attr}", "stride.integrations")


def test_a_broken_plugin_is_skipped_with_its_reason_and_the_others_load() -> None:
    found = discover(
        entries=lambda: [
            entry("ovens", "good"),
            EntryPoint("missing", "no_such_module_xyz:plugin", "stride.integrations"),
            entry("dict", "not_a_plugin"),
            entry("failing", "failing_factory"),
            entry("bad-metric", "bad_metric"),
            entry("other-name", "good"),
            entry("factory-made", "make_good"),
            entry("ovens", "make_good"),
        ]
    )
    assert sorted(found.plugins) == ["factory-made", "ovens"]
    assert found.plugins["ovens"] is good
    reasons = found.broken
    assert "cannot import no_such_module_xyz:plugin: ModuleNotFoundError" in reasons["missing"]
    assert "is a dict, not a Plugin" in reasons["dict"]
    assert "RuntimeError: config file missing" in reasons["failing"]
    assert "metric name 'Oven Temp' must match" in reasons["bad-metric"]
    assert "names plugin 'ovens': use one name" in reasons["other-name"]


def test_only_the_named_plugins_are_loaded_and_a_missing_one_is_reported() -> None:
    found = discover(["ovens", "nope"], entries=lambda: [entry("ovens", "good")])
    assert list(found.plugins) == ["ovens"]
    assert found.broken == {"nope": "not installed"}


def test_plugin_rules() -> None:
    with pytest.raises(PluginError, match="plugin name 'MES'"):
        Plugin(name="MES", sources=[Temperatures()])
    with pytest.raises(PluginError, match="two sources named 'ovens'"):
        Plugin(name="x", sources=[Temperatures(), Temperatures()])


def sample(**changes: object) -> Sample:
    fields: dict[str, object] = {
        "source": "oven-3",
        "metric": "oven_temp_c",
        "value": 181.5,
        "unit": "°C",
        "event_time": AT,
        "sample_id": "s1",
    }
    fields.update(changes)
    return Sample(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metric": "humidity"}, "does not declare metric 'humidity'"),
        ({"unit": "°F"}, "unit '°F', declared '°C'"),
        ({"source": "Oven 3"}, "source must match"),
        ({"value": float("nan")}, "not a finite number"),
        ({"event_time": AT.replace(tzinfo=None)}, "no time zone"),
        ({"sample_id": ""}, "no sample_id"),
    ],
)
def test_a_sample_telemetry_would_refuse_fails_the_pull(
    changes: dict[str, object], message: str
) -> None:
    check_samples(Temperatures(), [sample()])
    with pytest.raises(PluginError, match=message):
        check_samples(Temperatures(), [sample(), sample(**changes)])


async def test_the_watermark_defaults_to_the_newest_sample_or_stays() -> None:
    later = AT + timedelta(minutes=5)
    outcome = await pull_once(
        Temperatures([sample(event_time=later), sample()]), watermark="2026-01-01T00:00:00Z"
    )
    assert outcome.watermark == "2026-12-01T08:05:00Z"
    assert (await pull_once(Temperatures(), watermark="w1")).watermark == "w1"


def test_settings_come_from_the_plugins_variables() -> None:
    environ = {
        "STRIDE_PLUGIN_MES_OEE_BASE_URL": "http://mes",
        "STRIDE_PLUGIN_MES_OEE_TOKEN": "t",
        "STRIDE_PLUGIN_MES_BASE_URL": "other plugin",
        "STRIDE_NATS_URL": "nats://x",
    }
    assert plugin_settings("mes-oee", environ) == {"base_url": "http://mes", "token": "t"}


def test_sample_ids_depend_only_on_their_parts() -> None:
    source = Temperatures()
    a = source.sample("oven-3", "oven_temp_c", 180, AT)
    b = source.sample("oven-3", "oven_temp_c", 999, AT)
    assert a.sample_id == b.sample_id == stable_id("ovens", "oven-3", "oven_temp_c", AT.isoformat())
    assert source.sample("oven-4", "oven_temp_c", 180, AT).sample_id != a.sample_id
    assert a.unit == "°C"


def test_a_plugins_own_activities_run_on_the_integrations_worker() -> None:
    @activity.defn(name="ovens_calibrate")
    async def calibrate(oven: str) -> str:
        return oven

    plugin = Plugin(name="ovens", sources=[Temperatures()], activities=[calibrate])
    registered = IntegrationActivities({"ovens": plugin}, None, None).all()  # type: ignore[arg-type]
    assert calibrate in registered and len(registered) == 2
