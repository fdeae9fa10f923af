"""The pull activity of the integration plugins (``integration_pull``, on the integrations
worker): watermark → the source's pull → samples published to NATS → new watermark.

Errors become ApplicationErrors the workflow's retry policy understands:
``IntegrationPluginError`` (not retried: the plugin broke a rule or lacks a setting),
``IntegrationUnknownSource`` (not retried: the plugin or source is not on this worker),
``IntegrationSourceUnavailable`` (retried: the external system or NATS failed).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import httpx
import structlog
from nats.js import JetStreamContext
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.integrations.api import Plugin, PluginError, plugin_settings
from services.integrations.publish import NoIngestStream, publish_samples
from services.integrations.runner import run_pull
from services.integrations.watermarks import Watermarks
from workflows.integration_pull import (
    ERROR_PLUGIN,
    ERROR_SOURCE_UNAVAILABLE,
    ERROR_UNKNOWN,
    PULL_ACTIVITY,
    PullInput,
    PullReport,
)

log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class IntegrationActivities:
    def __init__(
        self,
        plugins: Mapping[str, Plugin],
        js: JetStreamContext,
        watermarks: Watermarks,
        *,
        environ: Mapping[str, str] | None = None,
        http_timeout: float = 30.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.plugins = plugins
        self.js = js
        self.watermarks = watermarks
        self.environ = os.environ if environ is None else environ
        self.http_timeout = http_timeout
        self.clock = clock

    def all(self) -> list[Callable[..., object]]:
        """The pull activity and every plugin's own activities."""
        extra = [a for plugin in self.plugins.values() for a in plugin.activities]
        return [self.pull, *extra]

    @activity.defn(name=PULL_ACTIVITY)
    async def pull(self, input: PullInput) -> PullReport:
        plugin = self.plugins.get(input.plugin)
        if plugin is None:
            raise ApplicationError(
                f"plugin {input.plugin!r} is not installed on this worker",
                type=ERROR_UNKNOWN,
                non_retryable=True,
            )
        try:
            source = plugin.source(input.source)
        except PluginError as err:
            raise ApplicationError(str(err), type=ERROR_UNKNOWN, non_retryable=True) from err
        before = await self.watermarks.get(plugin.name, source.name)
        try:
            async with httpx.AsyncClient(timeout=self.http_timeout) as http:
                outcome = await run_pull(
                    plugin.name,
                    source,
                    settings=plugin_settings(plugin.name, self.environ),
                    http=http,
                    now=self.clock(),
                    watermark=before,
                )
        except PluginError as err:
            raise ApplicationError(str(err), type=ERROR_PLUGIN, non_retryable=True) from err
        except httpx.HTTPError as err:
            raise ApplicationError(
                f"{plugin.name}/{source.name}: {type(err).__name__}: {err}",
                type=ERROR_SOURCE_UNAVAILABLE,
            ) from err
        try:
            await publish_samples(self.js, outcome.samples)
        except NoIngestStream as err:
            raise ApplicationError(str(err), type=ERROR_SOURCE_UNAVAILABLE) from err
        if outcome.watermark != before:
            await self.watermarks.put(plugin.name, source.name, outcome.watermark)
        by_metric = Counter(s.metric for s in outcome.samples)
        log.info(
            "integration pulled",
            plugin=plugin.name,
            source=source.name,
            samples=len(outcome.samples),
            watermark=outcome.watermark,
        )
        return PullReport(
            plugin=plugin.name,
            source=source.name,
            published=len(outcome.samples),
            by_metric=dict(sorted(by_metric.items())),
            watermark_before=before,
            watermark_after=outcome.watermark,
        )
