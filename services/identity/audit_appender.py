"""The chain appender: a JetStream consumer of every service's audit events.

It pulls ``stride.audit.v1.>`` (each service's ``AuditRecorded`` events, relayed from its
outbox) in batches, appends them to identity's hash chain in one transaction
(:meth:`services.identity.handlers.audit.AuditTrail.append`), and acks after the commit; a
failed append naks the batch for redelivery, so nothing is lost and nothing is linked twice.

Batches start at most every ``min_interval`` seconds: a fetch answers with whatever is
waiting, so under steady load without a pause each transaction would link one or two entries
and pay the chain lock, the head read and the commit for each; after the pause it links all
that arrived meanwhile (up to ``BATCH``).
"""

from __future__ import annotations

import asyncio

import structlog
from google.protobuf.message import DecodeError
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError

from services.common import metrics
from services.common.nats import AUDIT_STREAM, num_delivered
from services.common.tasks import PullConsumerTask
from services.identity.handlers.audit import AuditTrail
from stride.audit.v1 import audit_pb2

log = structlog.get_logger(__name__)

CONSUMER = "identity-audit"
BATCH = 200


class AuditAppender(PullConsumerTask):
    """Appends AuditRecorded events from JetStream to the chain; acks after commit."""

    task_name = "audit-appender"

    def __init__(self, nc: NatsClient, trail: AuditTrail, *, min_interval: float = 0.0) -> None:
        super().__init__()
        self.nc = nc
        self.trail = trail
        self.min_interval = min_interval

    async def run(self) -> None:
        js = self.nc.jetstream()
        sub = await js.pull_subscribe("stride.audit.v1.>", durable=CONSUMER, stream=AUDIT_STREAM)
        self._sub = sub
        loop = asyncio.get_running_loop()
        while True:
            try:
                msgs = await sub.fetch(BATCH, timeout=1)
            except (NatsTimeoutError, TimeoutError):
                continue
            started = loop.time()
            events: list[audit_pb2.AuditRecorded] = []
            good = []
            for msg in msgs:
                try:
                    events.append(audit_pb2.AuditRecorded.FromString(msg.data))
                    good.append(msg)
                except DecodeError:
                    log.error("undecodable audit event dropped", subject=msg.subject)
                    await msg.term()
                    metrics.event_consumed(CONSUMER, msg.subject, "dropped", num_delivered(msg))
            try:
                await self.trail.append(events)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database down: redeliver later, nothing lost
                log.warning("audit append failed, will retry", error=str(exc))
                for msg in good:
                    await msg.nak(delay=2)
                    metrics.event_consumed(CONSUMER, msg.subject, "retry", num_delivered(msg))
                continue
            for msg in good:
                await msg.ack()
                metrics.event_consumed(CONSUMER, msg.subject, "appended", num_delivered(msg))
            rest = started + self.min_interval - loop.time()
            if rest > 0 and len(msgs) < BATCH:
                await asyncio.sleep(rest)
