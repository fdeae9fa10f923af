"""The JetStream side of ingestion: a durable pull consumer on TELEMETRY_INGEST
(``telemetry.ingest.>``) inside the telemetry process.

Each pull takes up to ``batch`` messages and hands them to the one ingestion path
(handlers/samples.py ``ingest``: the samples and dead letters of the whole batch in one
transaction). Messages are acked only after that commit; if it fails they are nak'd with a
delay and come back (duplicates are harmless: samples are keyed by (source, sample_id),
dead letters by the message's stream position). The stream itself is created with the
others (services/common/nats.py) with a duplicate window, so a sender that sets
``Nats-Msg-Id`` = sample id is deduplicated by JetStream before it reaches us.
"""

from __future__ import annotations

import asyncio

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.common.nats import TELEMETRY_INGEST_STREAM, TELEMETRY_INGEST_SUBJECTS
from services.common.tasks import cancel_and_wait, log_loop_failure
from services.telemetry.handlers.samples import Received, ingest
from services.telemetry.handlers.shared import Deps

log = structlog.get_logger(__name__)

# A batch not acked within this long is redelivered (an ingest transaction takes far less).
ACK_WAIT_SECONDS = 30.0
NAK_DELAY_SECONDS = 1.0


def _key(msg: Msg) -> str:
    """What identifies this message across redeliveries: its stream sequence."""
    try:
        return f"{msg.metadata.stream}:{msg.metadata.sequence.stream}"
    except Exception:
        return msg.headers.get("Nats-Msg-Id", "") if msg.headers else ""


class IngestConsumer:
    def __init__(self, deps: Deps, js: JetStreamContext, *, durable: str, batch: int) -> None:
        self.deps = deps
        self.js = js
        self.durable = durable
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.sub = await self.js.pull_subscribe(
            TELEMETRY_INGEST_SUBJECTS,
            durable=self.durable,
            stream=TELEMETRY_INGEST_STREAM,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=ACK_WAIT_SECONDS,
                max_ack_pending=self.batch * 4,
            ),
        )
        self._task = asyncio.create_task(self._run(), name="telemetry-ingest")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
        try:
            await self.sub.unsubscribe()
        except Exception:
            pass

    async def _run(self) -> None:
        """Fetch the next batch while the previous one is being stored (batches are still
        stored one after the other, in stream order)."""
        storing: asyncio.Task[None] | None = None
        try:
            while True:
                msgs = await self._fetch()
                if storing is not None:
                    await storing
                    storing = None
                if msgs:
                    storing = asyncio.create_task(self.handle(msgs))
        finally:
            if storing is not None:
                await cancel_and_wait(storing)

    async def _fetch(self) -> list[Msg]:
        try:
            return list(await self.sub.fetch(self.batch, timeout=1.0))
        except TimeoutError:
            return []
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("telemetry fetch failed", error=str(exc))
            await asyncio.sleep(0.5)
            return []

    async def handle(self, msgs: list[Msg]) -> None:
        items = [Received(m.subject, m.data, key=_key(m)) for m in msgs]
        try:
            await ingest(self.deps, items)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log_loop_failure(log, "telemetry batch not stored; redelivering", exc, size=len(msgs))
            for m in msgs:
                await m.nak(delay=NAK_DELAY_SECONDS)
            return
        for m in msgs:
            await m.ack()
