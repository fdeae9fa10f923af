"""Outbox relay throughput against the raw JetStream publish ceiling, measured in one run.

Ceiling: nats-py publishing the same payloads straight to JetStream, one awaited ack at a
time and pipelined with ``publish_async`` (every ack outstanding at once). The relay pipelines
too (a bounded window of acks, taken in order) and additionally reads the rows and marks them
published in the database. It runs with the services' defaults (batch size, window).
Database: PostgreSQL when STRIDE_BENCH_DATABASE_URL is set (a scratch schema), else SQLite.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from services.common.nats import connect, ensure_streams
from services.common.outbox import OutboxRelay
from tests.outbox_helpers import scratch_outbox, write_events

EVENTS = int(os.environ.get("STRIDE_BENCH_EVENTS", "5000"))


async def _raw(js, subject: str, payload: bytes, n: int, pipelined: bool) -> float:
    start = time.perf_counter()
    if pipelined:
        futures = [
            await js.publish_async(subject, payload, headers={"Nats-Msg-Id": uuid.uuid4().hex})
            for _ in range(n)
        ]
        await asyncio.gather(*futures)
    else:
        for _ in range(n):
            await js.publish(subject, payload, headers={"Nats-Msg-Id": uuid.uuid4().hex})
    return n / (time.perf_counter() - start)


async def run(nats_url: str) -> dict[str, float]:
    nc = await connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    subject = "stride.identity.v1.bench.event"
    db_url = os.environ.get("STRIDE_BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_outbox(db_url, Path(tmp), schema="benchoutbox") as (sessions, table, pg):
            await write_events(sessions, table, EVENTS, subject)
            relay = OutboxRelay(sessions, table, js, lock_rows=pg)
            start = time.perf_counter()
            await relay.drain()
            relay_rate = EVENTS / (time.perf_counter() - start)
    payload = b"x" * 200
    sequential = await _raw(js, subject, payload, EVENTS, pipelined=False)
    pipelined = await _raw(js, subject, payload, EVENTS, pipelined=True)
    await nc.close()
    return {
        "relay events/s": relay_rate,
        "raw JetStream publish, awaited acks/s": sequential,
        "raw JetStream publish_async/s": pipelined,
        "relay / awaited-ack ceiling": relay_rate / sequential,
        "relay / publish_async ceiling": relay_rate / pipelined,
    }
