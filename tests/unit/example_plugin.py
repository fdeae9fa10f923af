"""stride-chiller: coolant temperatures from the chiller gateway's HTTP API."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from services.integrations import Metric, MetricSource, Plugin, PullContext, Sample


class ChillerTemperatures(MetricSource):
    name = "chillers"
    metrics = (Metric("coolant_temp_c", "°C", timedelta(minutes=5), "Coolant outlet"),)
    interval = timedelta(minutes=1)

    async def pull(self, ctx: PullContext) -> Sequence[Sample]:
        # GET /readings?after=<cursor> → {"readings": [{chiller, at, celsius}], "cursor": ...}
        resp = await ctx.http.get(
            f"{ctx.setting('base_url')}/readings", params={"after": ctx.watermark}
        )
        resp.raise_for_status()
        body = resp.json()
        ctx.advance(body["cursor"])  # saved once these samples are published
        return [
            self.sample(
                r["chiller"], "coolant_temp_c", r["celsius"], datetime.fromisoformat(r["at"])
            )
            for r in body["readings"]
        ]


plugin = Plugin(name="chiller", sources=[ChillerTemperatures()])
