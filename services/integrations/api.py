"""The plugin interface: what an integration package imports (``from services.integrations
import ...``) to feed Stride's telemetry from an MES, a CRM, a historian or any other system.

A plugin is a :class:`Plugin` (a name, its :class:`MetricSource` s, optional extra Temporal
activities) exposed as a Python entry point in the group ``stride.integrations``. The
integrations worker (``stride worker --queue integrations``) finds it, schedules one pull per
source (Temporal Schedule ``integration-pull/<plugin>/<source>`` every ``interval``), calls the
source's :meth:`MetricSource.pull` with a :class:`PullContext` and publishes what it returns
to NATS ``telemetry.ingest.<sample source>.<metric>``, where the telemetry service picks it up.

Rules a source keeps (docs/integrations.md "Write a plugin"):
- Return only samples of the metrics it declares, with their unit (checked before anything is
  published: a wrong sample fails the pull, nothing of it is sent).
- Give every sample a deterministic id (:func:`stable_id` / :meth:`MetricSource.sample`): a
  pull retried after a crash sends the same ids again, and telemetry counts them once.
- Fetch from ``ctx.watermark`` on, and :meth:`PullContext.advance` it to where it got; the
  watermark is saved only after every sample of the pull was published.
"""

from __future__ import annotations

import math
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import structlog

# The entry-point group plugins register under (pyproject: [project.entry-points."..."]).
ENTRY_POINT_GROUP = "stride.integrations"
# Plugin and source names: they appear in workflow ids, schedule ids and watermark keys.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# What telemetry accepts as a sample's source and metric (protos/stride/telemetry/v1).
SAMPLE_SOURCE_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}$")
METRIC_PATTERN = re.compile(r"^[a-z0-9_.-]{1,64}$")
# Namespace of the sample ids made by stable_id (any fixed UUID: ids must never change).
_SAMPLE_ID_NAMESPACE = uuid.UUID("6f1c3c56-8a0e-4f4e-9a59-5b0d6c1f2e7a")


class PluginError(Exception):
    """A plugin broke a rule (bad name, undeclared metric, wrong unit, missing setting).
    Retrying does not help: the pull fails at once and says why."""


@dataclass(frozen=True)
class Metric:
    """A metric a source emits: telemetry's metric name, its unit ("" for plain counts) and
    how often a value is expected (a bound key result goes stale after that much silence)."""

    name: str
    unit: str = ""
    interval: timedelta = timedelta(minutes=15)
    description: str = ""

    def __post_init__(self) -> None:
        if not METRIC_PATTERN.match(self.name):
            raise PluginError(f"metric name {self.name!r} must match {METRIC_PATTERN.pattern}")


@dataclass(frozen=True)
class Sample:
    """One measurement, as published to ``telemetry.ingest.<source>.<metric>``."""

    source: str  # the thing measured, e.g. "line-a" (not the plugin)
    metric: str
    value: float
    unit: str
    event_time: datetime  # when it happened at the source (timezone-aware)
    sample_id: str


def stable_id(*parts: object) -> str:
    """A sample id that depends only on ``parts`` (e.g. plugin, line, shift start, metric):
    the same data pulled twice gets the same id, so it is counted once."""
    return str(uuid.uuid5(_SAMPLE_ID_NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass
class PullContext:
    """What a pull gets: the plugin's settings, an HTTP client, the clock, the watermark.

    ``settings``: the plugin's own settings, from the environment variables
    ``STRIDE_PLUGIN_<PLUGIN>_<KEY>`` (``STRIDE_PLUGIN_MES_OEE_BASE_URL`` →
    ``settings["base_url"]``). ``now``: the time of this pull (UTC), the one clock a source
    should read. ``watermark``: what the last successful pull advanced to ("" the first time).
    """

    plugin: str
    source: str
    settings: Mapping[str, str]
    http: httpx.AsyncClient
    now: datetime
    watermark: str = ""
    next_watermark: str | None = None
    log: Any = field(default_factory=lambda: structlog.get_logger("stride.integrations"))

    def setting(self, key: str, default: str | None = None) -> str:
        """The setting ``key``; a :class:`PluginError` naming the variable when it is
        missing and has no default."""
        value = self.settings.get(key, default)
        if value is None:
            raise PluginError(f"{self.plugin}: set {env_name(self.plugin, key)}")
        return value

    def advance(self, watermark: str) -> None:
        """Where the next pull starts (saved once this pull's samples are published)."""
        self.next_watermark = watermark


class MetricSource(ABC):
    """A source of samples pulled on a schedule. Subclass it, set the class attributes and
    write :meth:`pull`."""

    name: ClassVar[str]
    metrics: ClassVar[Sequence[Metric]]
    interval: ClassVar[timedelta] = timedelta(minutes=15)
    # A pull that takes longer than this is cancelled and retried.
    timeout: ClassVar[timedelta] = timedelta(minutes=2)
    # Settings without a default (e.g. "base_url"): a source missing one is not scheduled
    # (the worker logs which variable to set) instead of failing every pull.
    required_settings: ClassVar[Sequence[str]] = ()

    @abstractmethod
    async def pull(self, ctx: PullContext) -> Sequence[Sample]:
        """Fetch what is new since ``ctx.watermark`` and return it as samples."""

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise PluginError(f"source {self.name!r} does not declare metric {name!r}")

    def sample(
        self, source: str, metric: str, value: float, at: datetime, *id_parts: object
    ) -> Sample:
        """A sample of a declared metric (its unit filled in), with a deterministic id made
        of this source's name, ``source``, ``metric`` and ``id_parts`` (default: ``at``)."""
        parts = id_parts or (at.astimezone(UTC).isoformat(),)
        return Sample(
            source=source,
            metric=metric,
            value=float(value),
            unit=self.metric(metric).unit,
            event_time=at,
            sample_id=stable_id(self.name, source, metric, *parts),
        )


# An extra activity a plugin brings (an ``@activity.defn`` function or bound method).
Activity = Callable[..., Any]


@dataclass
class Plugin:
    """What an entry point of group ``stride.integrations`` points at (or a function without
    arguments returning it)."""

    name: str
    sources: Sequence[MetricSource]
    activities: Sequence[Activity] = ()
    version: str = ""

    def __post_init__(self) -> None:
        check_name("plugin", self.name)
        seen: set[str] = set()
        for source in self.sources:
            if not isinstance(source, MetricSource):
                raise PluginError(f"{self.name}: {source!r} is not a MetricSource")
            check_name("source", source.name)
            if source.name in seen:
                raise PluginError(f"{self.name}: two sources named {source.name!r}")
            seen.add(source.name)
            if not source.metrics:
                raise PluginError(f"{self.name}/{source.name}: declares no metrics")
            if source.interval < timedelta(seconds=1):
                raise PluginError(f"{self.name}/{source.name}: interval under 1 s")

    def source(self, name: str) -> MetricSource:
        for source in self.sources:
            if source.name == name:
                return source
        raise PluginError(f"plugin {self.name!r} has no source {name!r}")


def check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise PluginError(f"{kind} name {name!r} must match {NAME_PATTERN.pattern}")


def env_name(plugin: str, key: str) -> str:
    """The environment variable of a plugin's setting: ``STRIDE_PLUGIN_<PLUGIN>_<KEY>``."""
    return f"{ENV_PREFIX}{plugin.replace('-', '_').upper()}_{key.upper()}"


ENV_PREFIX = "STRIDE_PLUGIN_"


def plugin_settings(plugin: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The plugin's settings out of ``environ`` (keys lower-cased, prefix removed)."""
    prefix = env_name(plugin, "")
    return {k[len(prefix) :].lower(): v for k, v in environ.items() if k.startswith(prefix)}


def missing_settings(plugin: Plugin, source: MetricSource, environ: Mapping[str, str]) -> list[str]:
    """The environment variables of ``source``'s required settings that are not set."""
    have = plugin_settings(plugin.name, environ)
    return [env_name(plugin.name, key) for key in source.required_settings if not have.get(key)]


def check_samples(source: MetricSource, samples: Sequence[Sample]) -> None:
    """Raise :class:`PluginError` for the first sample telemetry would dead-letter for a
    reason that is the plugin's fault (undeclared metric, wrong unit, bad source name, not a
    number, naive time, no id)."""
    for i, s in enumerate(samples):
        where = f"{source.name}: sample {i} ({s.metric!r} of {s.source!r})"
        if not isinstance(s, Sample):
            raise PluginError(f"{source.name}: sample {i} is a {type(s).__name__}, not a Sample")
        declared = source.metric(s.metric)
        if s.unit != declared.unit:
            raise PluginError(f"{where}: unit {s.unit!r}, declared {declared.unit!r}")
        if not SAMPLE_SOURCE_PATTERN.match(s.source):
            raise PluginError(f"{where}: source must match {SAMPLE_SOURCE_PATTERN.pattern}")
        if not isinstance(s.value, int | float) or not math.isfinite(s.value):
            raise PluginError(f"{where}: value {s.value!r} is not a finite number")
        if s.event_time.tzinfo is None:
            raise PluginError(f"{where}: event_time has no time zone")
        if not s.sample_id:
            raise PluginError(f"{where}: no sample_id")
