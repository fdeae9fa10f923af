"""The telemetry ingestion stream in tests of sample publishers (plugins, the simulator).

The telemetry service creates TELEMETRY_INGEST (``telemetry.ingest.>``) in production; tests
of what publishes to it create it here and read back what arrived, decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from services.common.nats import TELEMETRY_INGEST_STREAM, TELEMETRY_INGEST_SUBJECTS
from stride.telemetry.v1 import telemetry_pb2 as pb

STREAM = TELEMETRY_INGEST_STREAM
SUBJECTS = TELEMETRY_INGEST_SUBJECTS


@dataclass(frozen=True)
class Arrived:
    subject: str
    msg_id: str
    sample: pb.Sample


async def fresh_ingest_stream(js: JetStreamContext) -> None:
    """TELEMETRY_INGEST, new and empty (the NATS server is one per test session). Deleted and
    made again rather than purged: a purge keeps the duplicate window, and the plugins' sample
    ids are deterministic, so samples another test published for the same periods would be
    dropped as duplicates here."""
    try:
        await js.delete_stream(STREAM)
    except NotFoundError:
        pass
    await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECTS], duplicate_window=900))


async def arrived(js: JetStreamContext) -> list[Arrived]:
    """Every message in the stream, in order."""
    info = await js.stream_info(STREAM)
    found: list[Arrived] = []
    first = info.state.first_seq
    for seq in range(first, first + info.state.messages):
        msg = await js.get_msg(STREAM, seq)
        sample = pb.Sample()
        sample.ParseFromString(msg.data or b"")
        headers = msg.headers or {}
        found.append(Arrived(msg.subject or "", headers.get("Nats-Msg-Id", ""), sample))
    return found
