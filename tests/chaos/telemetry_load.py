"""Samples sent all through the chaos: half published to NATS (``telemetry.ingest.<source>.
<metric>``, acknowledged by JetStream), half posted to the gateway with an API key
(acknowledged by a 202). A send that fails is repeated with the same sample ids until it is
acknowledged — as a device or an integration would — so every id in :attr:`acked` was
acknowledged once at least, and the telemetry service must end up counting each exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import nats
from nats.aio.client import Client as NatsClient

from stride.telemetry.v1 import telemetry_pb2

NATS_SOURCE = "chaos-nats"
HTTP_SOURCE = "chaos-http"
METRIC = "chaos_parts"
# Samples per send, and the pause between two rounds (one NATS and one HTTP send each).
PER_SEND = 5
PAUSE = 0.1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class SampleLoad:
    http: httpx.AsyncClient  # base URL .../api/v1
    key_headers: dict[str, str]  # an API key with telemetry:write
    nats_url: str
    acked: dict[str, set[str]] = field(
        default_factory=lambda: {NATS_SOURCE: set(), HTTP_SOURCE: set()}
    )
    retried: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _sent: int = 0

    def stop(self) -> None:
        self._stop.set()

    def _samples(self, source: str) -> list[telemetry_pb2.Sample]:
        out = []
        for _ in range(PER_SEND):
            self._sent += 1
            out.append(
                telemetry_pb2.Sample(
                    source=source,
                    metric=METRIC,
                    value=1.0,
                    unit="",
                    event_time=_now(),
                    sample_id=f"{source}-{self._sent}",
                )
            )
        return out

    async def run(self) -> None:
        nc: NatsClient = await nats.connect(
            self.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5
        )
        try:
            js = nc.jetstream()
            while not self._stop.is_set():
                await asyncio.gather(self._publish(js), self._post())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), PAUSE)
        finally:
            await nc.close()

    async def _publish(self, js: nats.js.JetStreamContext) -> None:
        for sample in self._samples(NATS_SOURCE):
            subject = f"telemetry.ingest.{sample.source}.{sample.metric}"
            while True:
                try:
                    await js.publish(
                        subject,
                        sample.SerializeToString(),
                        timeout=2,
                        headers={"Nats-Msg-Id": sample.sample_id},
                    )
                    break
                except Exception as exc:  # NATS down or restarting: the device sends again
                    self.retried[f"nats:{type(exc).__name__}"] += 1
                    await asyncio.sleep(0.2)
            self.acked[NATS_SOURCE].add(sample.sample_id)

    async def _post(self) -> None:
        batch = self._samples(HTTP_SOURCE)
        body = {
            "samples": [
                {
                    "source": s.source,
                    "metric": s.metric,
                    "value": s.value,
                    "unit": s.unit,
                    "event_time": s.event_time,
                    "sample_id": s.sample_id,
                }
                for s in batch
            ]
        }
        while True:
            try:
                r = await self.http.post("/telemetry/samples", json=body, headers=self.key_headers)
            except httpx.HTTPError as exc:  # the gateway restarting
                self.retried[type(exc).__name__] += 1
                await asyncio.sleep(0.2)
                continue
            if r.status_code >= 500:  # telemetry (or identity, checking the key) restarting
                self.retried[str(r.status_code)] += 1
                await asyncio.sleep(0.2)
                continue
            if r.status_code != 202 or r.json()["rejected"]:
                self.refused.append(f"{r.status_code} {r.text[:200]}")
                return
            answer = r.json()
            assert answer["accepted"] + answer["duplicates"] == len(batch), answer
            self.acked[HTTP_SOURCE].update(s.sample_id for s in batch)
            return
