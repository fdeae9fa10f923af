"""The dashboard feed: a durable JetStream consumer of the goals events that keeps the
dashboard read models (services/goals/handlers/dashboards.py) up to date.

Events are reduced to the (cycle, department) pairs they touch
(services/goals/domain/dashboards.py ``touched``), whose rows are recomputed from the goals
tables and acked after the commit. A refresh follows an idle stream's first event at once,
and any event the stream pauses ``QUIET_SECONDS`` after; under a steady stream (a Monday
morning's check-ins) the events of up to ``REFRESH_SECONDS`` (at most ``MAX_PENDING``) are
gathered into one refresh, so a busy department is recomputed at most once per window instead
of once per small batch (each refresh reads the departments' key results and check-ins: at
10,000 people a Monday's refresh touches most departments and costs PostgreSQL ~0.1–0.2 s).
The refreshes' share of the time is bounded too: after a refresh that took ``t`` (50 ms or
more) the next one starts no sooner than ``REST_FACTOR × t`` later (at most
``MAX_WINDOW_SECONDS``), so a larger organisation's dashboards lag a little more rather than
the check-ins slowing down.
Recomputing is idempotent (the rows are a function of the tables, keyed by cycle, department
and week), so a redelivered or replayed event changes nothing; a failed batch is nak'ed and
redelivered. A new consumer (first start, or a new name) builds the whole read model from the
tables and follows the stream from then on.
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
# Events fetched per call, and gathered into one refresh at most (the consumer's
# max_ack_pending: a consumer created before this limit keeps the server's default, 1,000).
BATCH = 500
MAX_PENDING = 5_000
ACK_WAIT_SECONDS = 60.0
NAK_DELAY_SECONDS = 2.0
RESTART_SECONDS = 2.0
# The longest a dashboard lags the events under a steady stream (plus one refresh).
REFRESH_SECONDS = 2.0
# A gap this long between events ends the window early (a quiet stack's dashboards follow
# each change within a fraction of a second).
QUIET_SECONDS = 0.1
# After a refresh that took t seconds (SLOW_REFRESH_SECONDS or more: a small organisation's
# refreshes never wait), the next starts no sooner than REST_FACTOR x t later (the refreshes
# take at most a tenth of the time), and no window is longer than MAX_WINDOW_SECONDS (well
# inside ACK_WAIT_SECONDS).
SLOW_REFRESH_SECONDS = 0.05
REST_FACTOR = 9.0
MAX_WINDOW_SECONDS = 15.0


class DashboardFeed(PullConsumerTask):
    task_name = "dashboard-feed"

    def __init__(
        self,
        nc: NatsClient,
        deps: Deps,
        *,
        durable: str = CONSUMER,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        super().__init__()
        self.nc = nc
        self.deps = deps
        self.durable = durable
        self.refresh_seconds = refresh_seconds

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
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_SECONDS, max_ack_pending=MAX_PENDING
        )
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
        await self.follow(self._sub)

    async def follow(self, sub: Any) -> None:
        """Fetch events and refresh what they touched: at once after a quiet spell, else
        when the stream pauses, the window since the last refresh has passed or
        ``MAX_PENDING`` events wait — never sooner than the last refresh's rest
        (``rest_after``)."""
        loop = asyncio.get_running_loop()
        pending: list[Any] = []
        touched: set[tuple[str, str]] = set()
        last_end, rest = -self.refresh_seconds, 0.0
        while True:
            earliest = last_end + rest
            due = max(last_end + self.refresh_seconds, earliest)
            msgs: list[Any] = []
            if len(pending) >= MAX_PENDING:  # fetch no more; refresh once the rest is over
                await asyncio.sleep(max(0.0, earliest - loop.time()))
            else:
                wait = min(QUIET_SECONDS, max(0.01, due - loop.time())) if pending else 1.0
                try:
                    msgs = await sub.fetch(min(BATCH, MAX_PENDING - len(pending)), timeout=wait)
                except (NatsTimeoutError, TimeoutError):
                    msgs = []
                pending.extend(msgs)
                touched |= self.touched_by(msgs)
            now = loop.time()
            paused = not msgs or len(pending) >= MAX_PENDING
            if pending and (now >= due or (paused and now >= earliest)):
                await self.handle(pending, touched)
                pending, touched = [], set()
                last_end = loop.time()
                rest = self.rest_after(last_end - now)

    @staticmethod
    def rest_after(took: float) -> float:
        """How long after a refresh that took ``took`` seconds the next may start."""
        return min(REST_FACTOR * took, MAX_WINDOW_SECONDS) if took >= SLOW_REFRESH_SECONDS else 0.0

    @staticmethod
    def touched_by(msgs: list[Any]) -> set[tuple[str, str]]:
        touched: set[tuple[str, str]] = set()
        for msg in msgs:
            if msg.subject not in EVENTS:
                continue
            try:
                touched |= dashboards.touched(EVENTS.decode(msg.subject, msg.data))
            except DecodeError:
                log.error("undecodable goals event skipped", subject=msg.subject)
        return touched

    async def handle(self, msgs: list[Any], touched: set[tuple[str, str]]) -> None:
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
