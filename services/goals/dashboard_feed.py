"""The dashboard feed: a durable JetStream consumer of the goals events that keeps the
dashboard read models (services/goals/handlers/dashboards.py) up to date.

Each batch of events is reduced to the (cycle, department) pairs it touches
(services/goals/domain/dashboards.py ``touched``), whose rows are recomputed from the goals
tables and acked after the commit. Recomputing is idempotent (the rows are a function of
the tables, keyed by cycle, department and week), so a redelivered or replayed event changes
nothing; a failed batch is nak'ed and redelivered. A new consumer (first start, or a new
name) builds the whole read model from the tables and follows the stream from then on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from google.protobuf.message import DecodeError
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from services.common import metrics
from services.common.nats import GOALS_STREAM, num_delivered
from services.common.tasks import PullConsumerTask, log_loop_failure
from services.goals.domain import dashboards
from services.goals.events import EVENTS
from services.goals.handlers import dashboards as handlers
from services.goals.handlers.shared import Deps
from stride.goals.v1 import goals_pb2 as pb

log = structlog.get_logger(__name__)

CONSUMER = "goals-dashboards"
BATCH = 500
ACK_WAIT_SECONDS = 60.0
NAK_DELAY_SECONDS = 2.0
RESTART_SECONDS = 2.0


class DashboardFeed(PullConsumerTask):
    task_name = "dashboard-feed"

    def __init__(self, nc: NatsClient, deps: Deps, *, durable: str = CONSUMER) -> None:
        super().__init__()
        self.nc = nc
        self.deps = deps
        self.durable = durable

    async def run(self) -> None:
        """Follow the stream; on a failure (NATS or the database away at start) start over."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log_loop_failure(log, "dashboard feed stopped; restarting", exc)
                await asyncio.sleep(RESTART_SECONDS)

    async def _follow(self) -> None:
        js = self.nc.jetstream()
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_SECONDS)
        try:
            await js.consumer_info(GOALS_STREAM, self.durable)
        except NotFoundError:
            # A new consumer: build the read model from the tables, then follow the stream
            # from where it stood before the rebuild (events in between are applied again,
            # which changes nothing). A failed rebuild creates no consumer: the next attempt
            # starts over.
            last = (await js.stream_info(GOALS_STREAM)).state.last_seq
            await handlers.rebuild(self.deps, pb.RebuildDashboardsRequest())
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = last + 1
        self._sub = await js.pull_subscribe(
            "stride.goals.v1.>", durable=self.durable, stream=GOALS_STREAM, config=config
        )
        while True:
            try:
                msgs = await self._sub.fetch(BATCH, timeout=1)
            except (NatsTimeoutError, TimeoutError):
                continue
            await self.handle(msgs)

    async def handle(self, msgs: list[Any]) -> None:
        touched: set[tuple[str, str]] = set()
        for msg in msgs:
            if msg.subject not in EVENTS:
                continue
            try:
                touched |= dashboards.touched(EVENTS.decode(msg.subject, msg.data))
            except DecodeError:
                log.error("undecodable goals event skipped", subject=msg.subject)
        try:
            await handlers.refresh(self.deps, touched)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # database down, a concurrent rebuild: redeliver later
            log.warning("dashboard refresh failed, will retry", error=str(exc))
            for msg in msgs:
                await msg.nak(delay=NAK_DELAY_SECONDS)
                metrics.event_consumed(self.durable, msg.subject, "retry", num_delivered(msg))
            return
        for msg in msgs:
            await msg.ack()
            metrics.event_consumed(self.durable, msg.subject, "applied", num_delivered(msg))
