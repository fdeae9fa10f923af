"""The ``lines`` source: line events from the MES → OEE samples per line and ended shift."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from services.integrations import Metric, MetricSource, PluginError, PullContext, Sample
from services.integrations.periods import completed_periods, parse_boundaries, period_start
from stride_mes_oee.oee import STATES, Count, StateInterval, shift_oee
from workflows.calendar import parse_instant, rfc3339
from workflows.vocabulary import DEFAULT_TIME_ZONE

SHIFT = timedelta(hours=8)
DEFAULT_SHIFTS = "08:00,16:00,00:00"


class LineEventsSource(MetricSource):
    name = "lines"
    metrics = (
        Metric("oee", "%", SHIFT, "Overall equipment effectiveness of the line in the shift"),
        Metric("availability", "%", SHIFT, "Run time / planned production time"),
        Metric("performance", "%", SHIFT, "Ideal cycle time × parts / run time"),
        Metric("quality", "%", SHIFT, "Good parts / parts produced"),
    )
    # Every 15 minutes: a shift's figures go out within 15 minutes of its end.
    interval = timedelta(minutes=15)
    required_settings = ("base_url",)

    async def pull(self, ctx: PullContext) -> Sequence[Sample]:
        try:
            tz = ctx.setting("time_zone", DEFAULT_TIME_ZONE)
            clocks = parse_boundaries(ctx.setting("shifts", DEFAULT_SHIFTS))
            backfill = timedelta(hours=float(ctx.setting("backfill_hours", "24")))
            shifts = completed_periods(
                parse_instant(ctx.watermark)
                if ctx.watermark
                else period_start(ctx.now - backfill, tz, clocks),
                ctx.now,
                tz,
                clocks,
            )
        except ValueError as err:  # a bad setting (shifts, zone, hours) or watermark
            raise PluginError(f"mes-oee settings: {err}") from err
        if not shifts:
            return []
        token = ctx.settings.get("token")
        resp = await ctx.http.get(
            f"{ctx.setting('base_url').rstrip('/')}/api/v1/line-events",
            params={"from": rfc3339(shifts[0][0]), "to": rfc3339(shifts[-1][1])},
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )
        resp.raise_for_status()
        intervals, counts = parse_events(resp.json())
        samples: list[Sample] = []
        for line in sorted({i.line for i in intervals} | {c.line for c in counts}):
            mine = [i for i in intervals if i.line == line]
            made = [c for c in counts if c.line == line]
            for start, end in shifts:
                figures = shift_oee(mine, made, start, end)
                if figures is None:
                    continue
                # The last second of the shift: telemetry files it in this shift's window.
                at = end - timedelta(seconds=1)
                shift_id = rfc3339(start)
                for metric, value in (
                    ("oee", figures.oee),
                    ("availability", figures.availability),
                    ("performance", figures.performance),
                    ("quality", figures.quality),
                ):
                    samples.append(self.sample(line, metric, round(value * 100, 4), at, shift_id))
        ctx.advance(rfc3339(shifts[-1][1]))
        return samples


def parse_events(body: Any) -> tuple[list[StateInterval], list[Count]]:
    """The MES answer as intervals and counts; PluginError naming what is wrong."""
    try:
        intervals = [
            StateInterval(
                line=str(i["line"]),
                state=str(i["state"]),
                start=parse_instant(i["start"]),
                end=parse_instant(i["end"]),
            )
            for i in body.get("intervals", [])
        ]
        counts = [
            Count(
                line=str(c["line"]),
                at=parse_instant(c["at"]),
                produced=int(c["produced"]),
                good=int(c["good"]),
                ideal_cycle_time_s=float(c["ideal_cycle_time_s"]),
            )
            for c in body.get("counts", [])
        ]
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise PluginError(f"MES line events not understood: {type(err).__name__}: {err}") from err
    unknown = {i.state for i in intervals} - STATES
    if unknown:
        raise PluginError(f"MES line events: unknown states {sorted(unknown)}")
    return intervals, counts
