"""NATS JetStream connection and stream bootstrap."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

log = structlog.get_logger(__name__)

GOALS_STREAM = "STRIDE_GOALS"
IDENTITY_STREAM = "STRIDE_IDENTITY"
AUDIT_STREAM = "STRIDE_AUDIT"
FEEDBACK_STREAM = "STRIDE_FEEDBACK"
TELEMETRY_STREAM = "STRIDE_TELEMETRY"
# Samples from devices, MES and CRM (`telemetry.ingest.<source>.<metric>`; senders set
# Nats-Msg-Id = sample id) and the samples that could not be used, with their reason.
TELEMETRY_INGEST_STREAM = "TELEMETRY_INGEST"
TELEMETRY_DEADLETTER_STREAM = "TELEMETRY_DEADLETTER"
TELEMETRY_INGEST_SUBJECTS = "telemetry.ingest.>"
TELEMETRY_DEADLETTER_SUBJECTS = "telemetry.deadletter.>"
STREAMS: dict[str, list[str]] = {
    GOALS_STREAM: ["stride.goals.v1.>"],
    IDENTITY_STREAM: ["stride.identity.v1.>"],
    AUDIT_STREAM: ["stride.audit.v1.>"],
    FEEDBACK_STREAM: ["stride.feedback.v1.>"],
    TELEMETRY_STREAM: ["stride.telemetry.v1.>"],
    TELEMETRY_INGEST_STREAM: [TELEMETRY_INGEST_SUBJECTS],
    TELEMETRY_DEADLETTER_STREAM: [TELEMETRY_DEADLETTER_SUBJECTS],
}
# How long JetStream remembers a Nats-Msg-Id: a relay restarted within this window never
# duplicates an event.
DUPLICATE_WINDOW_SECONDS = 15 * 60
MAX_AGE_SECONDS = 30 * 24 * 3600


async def connect(url: str, name: str = "stride", *, wait: float = 30.0) -> Client:
    """Connect, retrying for ``wait`` seconds (the stack starts its engines concurrently)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return await nats.connect(
                url,
                name=name,
                connect_timeout=2,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
            )
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            log.info("waiting for NATS", url=url, error=str(exc))
            await asyncio.sleep(0.5)


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create Stride's streams, or bring their configuration up to date."""
    for name, subjects in STREAMS.items():
        config = StreamConfig(
            name=name,
            subjects=subjects,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            max_age=MAX_AGE_SECONDS,
        )
        try:
            await js.stream_info(name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except Exception:
                # Created concurrently by another process: fall through to update.
                pass
        await js.update_stream(config)


def num_delivered(msg: Any) -> int:
    """How many times JetStream has delivered ``msg`` (1 for a first delivery or a core message)."""
    try:
        return int(msg.metadata.num_delivered)
    except Exception:
        return 1
