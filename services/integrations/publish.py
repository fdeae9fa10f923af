"""Samples → NATS ``telemetry.ingest.<source>.<metric>`` as the telemetry contract's protobuf
``Sample`` (protos/stride/telemetry/v1), with ``Nats-Msg-Id`` = sample id so JetStream drops a
sample published twice within its duplicate window."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError

from services.integrations.api import Sample
from stride.telemetry.v1 import telemetry_pb2 as pb
from workflows.vocabulary import ingest_subject

# Publishes in flight at once (each waits for JetStream's ack).
PUBLISH_WINDOW = 256


class NoIngestStream(RuntimeError):
    """Nothing stores ``telemetry.ingest.>``: the telemetry service has not created its
    stream (TELEMETRY_INGEST) on this NATS."""

    def __init__(self) -> None:
        super().__init__(
            "no JetStream stream stores telemetry.ingest.> (start the telemetry service, "
            "e.g. stride up)"
        )


def event_time_text(sample: Sample) -> str:
    """RFC 3339 in UTC, keeping sub-second precision (the order of fast samples)."""
    return sample.event_time.isoformat().replace("+00:00", "Z")


def to_pb(sample: Sample) -> pb.Sample:
    return pb.Sample(
        source=sample.source,
        metric=sample.metric,
        value=sample.value,
        unit=sample.unit,
        event_time=event_time_text(sample),
        sample_id=sample.sample_id,
    )


async def publish_samples(js: JetStreamContext, samples: Sequence[Sample]) -> int:
    """Publish and wait for every ack; returns how many JetStream stored (duplicates of
    samples it saw within its window are acked but not stored again)."""
    stored = 0
    for start in range(0, len(samples), PUBLISH_WINDOW):
        chunk = samples[start : start + PUBLISH_WINDOW]
        try:
            acks = await asyncio.gather(
                *(
                    js.publish(
                        ingest_subject(s.source, s.metric),
                        to_pb(s).SerializeToString(),
                        headers={"Nats-Msg-Id": s.sample_id},
                    )
                    for s in chunk
                )
            )
        except NoStreamResponseError as err:
            raise NoIngestStream() from err
        stored += sum(1 for ack in acks if not ack.duplicate)
    return stored
