"""One pull of a source, without Temporal or NATS: used by the pull activity and by plugin
tests (:func:`services.integrations.testing.pull_once`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from services.integrations.api import MetricSource, PullContext, Sample, check_samples


@dataclass(frozen=True)
class PullOutcome:
    samples: Sequence[Sample]
    # Where the next pull starts: what the source advanced to; else the newest sample's
    # event time; else (nothing new) the watermark it started from.
    watermark: str


async def run_pull(
    plugin: str,
    source: MetricSource,
    *,
    settings: Mapping[str, str],
    http: httpx.AsyncClient,
    now: datetime,
    watermark: str = "",
) -> PullOutcome:
    """Call ``source.pull`` and check what it returned (:class:`PluginError` if it broke a
    rule: nothing of it is to be published)."""
    ctx = PullContext(
        plugin=plugin,
        source=source.name,
        settings=settings,
        http=http,
        now=now.astimezone(UTC),
        watermark=watermark,
    )
    samples = list(await source.pull(ctx))
    check_samples(source, samples)
    if ctx.next_watermark is not None:
        next_watermark = ctx.next_watermark
    elif samples:
        newest = max(s.event_time for s in samples).astimezone(UTC)
        next_watermark = newest.isoformat().replace("+00:00", "Z")
    else:
        next_watermark = watermark
    return PullOutcome(samples, next_watermark)
