"""The ``complaints`` source: complaints and shipped orders from the CRM → per ended day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from services.integrations import Metric, MetricSource, PluginError, PullContext, Sample
from services.integrations.periods import completed_periods, period_start
from stride_crm_complaints.rate import count_per_period
from workflows.calendar import parse_instant, rfc3339
from workflows.vocabulary import DEFAULT_TIME_ZONE

DAY = timedelta(days=1)
MIDNIGHT = [time(0, 0)]


class ComplaintsSource(MetricSource):
    name = "complaints"
    metrics = (
        Metric("complaints", "", DAY, "Customer complaints received"),
        Metric("orders_shipped", "", DAY, "Customer orders shipped"),
        Metric("complaint_rate", "%", DAY, "Complaints per 100 orders shipped"),
    )
    interval = timedelta(hours=1)
    required_settings = ("base_url",)

    async def pull(self, ctx: PullContext) -> Sequence[Sample]:
        try:
            tz = ctx.setting("time_zone", DEFAULT_TIME_ZONE)
            backfill = DAY * float(ctx.setting("backfill_days", "7"))
            since = (
                parse_instant(ctx.watermark)
                if ctx.watermark
                else period_start(ctx.now - backfill, tz, MIDNIGHT)
            )
            days = completed_periods(since, ctx.now, tz, MIDNIGHT)
        except ValueError as err:  # a bad setting (zone, days) or watermark
            raise PluginError(f"crm-complaints settings: {err}") from err
        if not days:
            return []
        window = {"from": rfc3339(days[0][0]), "to": rfc3339(days[-1][1])}
        complaints = await self._times(ctx, "/api/v1/complaints", window, "complaints")
        shipped = await self._times(ctx, "/api/v1/orders/shipped", window, "orders")
        source = ctx.setting("source_name", "crm")
        samples: list[Sample] = []
        for day in count_per_period(days, complaints, shipped):
            at = day.end - timedelta(seconds=1)  # the day's last second: filed in that day
            day_id = rfc3339(day.start)
            samples.append(self.sample(source, "complaints", day.complaints, at, day_id))
            samples.append(self.sample(source, "orders_shipped", day.orders_shipped, at, day_id))
            if day.rate is not None:
                samples.append(self.sample(source, "complaint_rate", day.rate * 100, at, day_id))
        ctx.advance(rfc3339(days[-1][1]))
        return samples

    async def _times(
        self, ctx: PullContext, path: str, window: dict[str, str], key: str
    ) -> list[datetime]:
        token = ctx.settings.get("token")
        resp = await ctx.http.get(
            ctx.setting("base_url").rstrip("/") + path,
            params=window,
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )
        resp.raise_for_status()
        return parse_times(resp.json(), key)


def parse_times(body: Any, key: str) -> list[datetime]:
    """The CRM's records under ``key`` → their time (received_at / shipped_at)."""
    field = "received_at" if key == "complaints" else "shipped_at"
    try:
        return [parse_instant(record[field]) for record in body[key]]
    except (KeyError, TypeError, ValueError) as err:
        raise PluginError(f"CRM {key} not understood: {type(err).__name__}: {err}") from err
