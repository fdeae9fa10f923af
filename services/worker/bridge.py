"""Event bridge: NATS JetStream events → Temporal signals and workflow starts.

Routed from the event registries (``services/<area>/events.py``): :data:`ROUTES` maps a
subject to its handler and to the key its events are ordered by; :data:`IGNORED` names every
other registered subject with the reason no workflow needs it (tests/unit/test_event_registry.py
checks that each registered subject is in exactly one of them). A new event is one registry
line plus its route here. The bridge has one durable pull consumer per stream that holds a
routed subject (``STRIDE_GOALS``: the configured name; others ``<name>-<area>``, e.g.
``worker-bridge-feedback``), each filtered to its routed subjects and followed on its own
(a batch is handled as soon as its stream delivers it); messages are decoded with the
registry's ``decode``.

``stride.goals.v1.checkin.recorded`` (ordered by key result):

- risk ``AT_RISK``, or a blocker naming a department other than the key result's → signal-with-
  start ``kr-escalation/<kr>`` (starts the escalation or signals the running one);
- risk ``ON_TRACK`` → signal the running escalation only (none running: nothing to do);
- anything else     → nothing.

``stride.goals.v1.kr.risk_swept`` (the weekly sweep's assessment of a key result nobody checked
in for a week; ordered by key result, with its check-ins) → routed like a check-in: ``AT_RISK``
signal-with-starts ``kr-escalation/<kr>`` (a ``RiskSignal`` with ``check_in_id`` "" and the
carried value), ``ON_TRACK`` signals the running escalation only, anything else: nothing.

``stride.goals.v1.blocker.resolved`` (ordered by key result, with its check-ins) → signal the
running ``kr-escalation/<kr>`` (``blocker_resolved``; none running: nothing to do).

``stride.goals.v1.approval.requested`` → signal-with-start ``cycle/<cycle>/plan/<employee>``
(the approval workflow; a running one gets the new approval as a signal, which it dedupes by
event id and approval id).

``stride.goals.v1.cycle.created`` → start ``cycle/<cycle>`` (id reuse rejected: a workflow
that exists already, running or finished, counts as done).

``stride.feedback.v1.round.started`` (on STRIDE_FEEDBACK, ordered by cycle and subject) →
start ``feedback-round/<cycle>/<subject>`` (id reuse rejected: one round per cycle and person;
services/worker/round_handlers.py). ``round.closed`` is ignored: the workflow closed it.

``stride.feedback.v1.promotion.applied`` (ordered by case) → start ``promotion/<case>`` (id
reuse rejected; services/worker/promotion_handlers.py). ``promotion.decided`` and
``promotion.rules_changed`` are ignored: the workflow decided, and eligibility reads the rules
in force.

``stride.goals.v1.cycle.closed`` → signal ``cycle/<cycle>`` (a backfill cycle's workflow
waits for it; a finished workflow: nothing to do).

A message is acknowledged only after Temporal accepted the signal. A transient failure naks
it with a growing delay (it comes back; nothing is lost); a message that can never be handled
(undecodable, missing fields) is terminated and logged. Redelivery is harmless: the workflow
ignores an ``event_id`` it has seen.

Order. The events of one key (a key result, a person's plan, a cycle) are handled one after
the other in stream order; different keys concurrently. When an event fails, its key is *held*
until that event is settled: the key's later events in the batch are nak'd with the same delay
as the failed one, and any event of the key with a later stream sequence that arrives while
the key is held (in a later batch, or redelivered before the failed one) is nak'd again
(outcome ``held``) until the failed event has been handled. So within one bridge process an
event is never handed to Temporal before an earlier event of its key. A hold lives in memory:
it ends when the failed event is settled, or, should that never come back (e.g. another
worker replica took it), a while after its redelivery was due; after a restart the first
batch is again handled in stream order per key. Two worker replicas share the consumer, so
two replicas may still race on one key; run one bridge per deployment where that matters.

Longer than ~400 lines: the consumer loop, the per-key ordering with its holds and the route
table are one mechanism (a route's key is what the holds order by); the handlers themselves
live in services/worker/handlers.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import grpc
import structlog
from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from temporalio.client import Client

from services.common import metrics
from services.common.audit import audit_subject
from services.common.channels import channel
from services.common.events import Event, EventRegistry
from services.common.nats import GOALS_STREAM, STREAMS, ensure_streams, num_delivered
from services.common.telemetry import consumer_span
from services.feedback import events as feedback_events
from services.goals import events as goals_events
from services.identity import events as identity_events
from services.telemetry import events as telemetry_events
from services.worker.handlers import (
    DEFAULT_TIME_ZONE,
    ApprovalPending,
    InvalidEvent,
    Outcome,
    handle_approval_requested,
    handle_blocker_resolved,
    handle_check_in_recorded,
    handle_cycle_closed,
    handle_cycle_created,
    handle_risk_swept,
)
from services.worker.promotion_handlers import handle_promotion_applied
from services.worker.round_handlers import handle_round_started
from stride.feedback.v1 import promotions_pb2, rounds_pb2
from stride.goals.v1 import goals_pb2, goals_pb2_grpc

log = structlog.get_logger(__name__)

# Every area's events: each subject is routed or ignored (tests/unit/test_event_registry.py).
REGISTRIES: tuple[EventRegistry, ...] = (
    goals_events.EVENTS,
    identity_events.EVENTS,
    feedback_events.EVENTS,
    telemetry_events.EVENTS,
)

# Metric outcome of an event nak'd because an earlier event of its key has not been handled.
HELD = "held"


class GoalsApprovals:
    """Asks the goals service whether an approval is still pending (an :data:`ApprovalPending`)."""

    def __init__(self, address: str, timeout: float = 5.0) -> None:
        self._channel = channel(address)
        self._stub = goals_pb2_grpc.GoalsServiceStub(self._channel)
        self._timeout = timeout

    async def pending(self, approval_id: str) -> bool:
        try:
            approval = await self._stub.GetApproval(
                goals_pb2.GetApprovalRequest(id=approval_id), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                log.warning("bridge: approval unknown to goals", approval=approval_id)
                return False
            raise  # goals is down or slow: the event is retried
        return approval.status == goals_pb2.APPROVAL_STATUS_PENDING

    async def close(self) -> None:
        await self._channel.close(None)


@dataclass(frozen=True)
class Context:
    """What the handlers need besides the event."""

    client: Client
    task_queue: str
    default_time_zone: str = DEFAULT_TIME_ZONE
    approval_pending: ApprovalPending | None = None


E = TypeVar("E", bound=Message)


@dataclass(frozen=True)
class Route(Generic[E]):
    """How the bridge handles the events of one registered subject."""

    event: Event
    handle: Callable[[Context, E], Awaitable[Outcome]]
    # Events with the same key are handed to Temporal in stream order.
    key: Callable[[E], str]


async def _check_in_recorded(ctx: Context, event: goals_pb2.CheckInRecorded) -> Outcome:
    return await handle_check_in_recorded(
        ctx.client, event, task_queue=ctx.task_queue, default_time_zone=ctx.default_time_zone
    )


async def _risk_swept(ctx: Context, event: goals_pb2.KeyResultRiskSwept) -> Outcome:
    return await handle_risk_swept(
        ctx.client, event, task_queue=ctx.task_queue, default_time_zone=ctx.default_time_zone
    )


async def _approval_requested(ctx: Context, event: goals_pb2.ApprovalRequested) -> Outcome:
    return await handle_approval_requested(
        ctx.client,
        event,
        task_queue=ctx.task_queue,
        default_time_zone=ctx.default_time_zone,
        still_pending=ctx.approval_pending,
    )


async def _cycle_created(ctx: Context, event: goals_pb2.CycleCreated) -> Outcome:
    return await handle_cycle_created(
        ctx.client, event, task_queue=ctx.task_queue, default_time_zone=ctx.default_time_zone
    )


async def _blocker_resolved(ctx: Context, event: goals_pb2.BlockerResolved) -> Outcome:
    return await handle_blocker_resolved(ctx.client, event)


async def _cycle_closed(ctx: Context, event: goals_pb2.CycleClosed) -> Outcome:
    return await handle_cycle_closed(ctx.client, event)


async def _round_started(ctx: Context, event: rounds_pb2.RoundStarted) -> Outcome:
    return await handle_round_started(ctx.client, event, task_queue=ctx.task_queue)


async def _promotion_applied(ctx: Context, event: promotions_pb2.PromotionApplied) -> Outcome:
    return await handle_promotion_applied(ctx.client, event, task_queue=ctx.task_queue)


_ROUTES: tuple[Route[Any], ...] = (
    Route(
        goals_events.CHECKIN_RECORDED,
        _check_in_recorded,
        lambda e: f"kr:{e.key_result.id or e.check_in.key_result_id}",
    ),
    # The weekly sweep's assessment of a silent key result: ordered with its check-ins.
    Route(goals_events.RISK_SWEPT, _risk_swept, lambda e: f"kr:{e.key_result.id}"),
    Route(
        goals_events.APPROVAL_REQUESTED,
        _approval_requested,
        lambda e: f"plan:{e.approval.cycle_id}/{e.approval.employee_id}",
    ),
    Route(
        goals_events.BLOCKER_RESOLVED,
        _blocker_resolved,
        lambda e: f"kr:{e.blocker.key_result_id}",
    ),
    Route(goals_events.CYCLE_CREATED, _cycle_created, lambda e: f"cycle:{e.cycle.id}"),
    Route(goals_events.CYCLE_CLOSED, _cycle_closed, lambda e: f"cycle:{e.cycle.id}"),
    # STRIDE_FEEDBACK (the bridge's second consumer).
    Route(
        feedback_events.ROUND_STARTED_EVENT,
        _round_started,
        lambda e: f"round:{e.cycle_id}/{e.subject_id}",
    ),
    Route(
        feedback_events.PROMOTION_APPLIED,
        _promotion_applied,
        lambda e: f"promotion:{e.case_id}",
    ),
)
ROUTES: dict[str, Route[Any]] = {route.event.subject: route for route in _ROUTES}


def stream_of(subject: str) -> str:
    """The JetStream stream that stores ``subject`` (services/common/nats.py STREAMS)."""
    for stream, patterns in STREAMS.items():
        if any(subject.startswith(p.rstrip(">")) for p in patterns):
            return stream
    raise ValueError(f"no stream stores {subject}")


def routed_streams() -> dict[str, list[str]]:
    """The routed subjects by stream: the bridge has one durable consumer per stream, filtered
    to them (STRIDE_GOALS first)."""
    out: dict[str, list[str]] = {}
    for subject in ROUTES:
        out.setdefault(stream_of(subject), []).append(subject)
    return dict(sorted(out.items(), key=lambda item: item[0] != GOALS_STREAM))


def consumer_name(consumer: str, stream: str) -> str:
    """The durable consumer of ``stream``: the configured name on STRIDE_GOALS (as before
    other streams were routed), ``<name>-<area>`` on the others (e.g. worker-bridge-feedback)."""
    if stream == GOALS_STREAM:
        return consumer
    return f"{consumer}-{stream.removeprefix('STRIDE_').lower()}"


# Registered subjects no workflow reacts to (yet), each with the reason.
# Objective and key-result lifecycle events are for integrators and reports.
_NO_GOAL_WORKFLOW = "no workflow reacts to objective or key-result changes yet"
_NO_FEEDBACK_WORKFLOW = "continuous feedback is read in the app; no workflow reacts to it"
IGNORED: dict[str, str] = {
    goals_events.PROGRESS_CHANGED.subject: "risk reaches escalations with checkin.recorded",
    goals_events.APPROVAL_DECIDED.subject: "decisions reach the approval workflow as its Update",
    goals_events.OBJECTIVE_CREATED.subject: _NO_GOAL_WORKFLOW,
    goals_events.OBJECTIVE_UPDATED.subject: _NO_GOAL_WORKFLOW,
    goals_events.OBJECTIVE_CLOSED.subject: _NO_GOAL_WORKFLOW,
    goals_events.OBJECTIVE_DELETED.subject: _NO_GOAL_WORKFLOW,
    goals_events.KR_CREATED.subject: _NO_GOAL_WORKFLOW,
    goals_events.KR_UPDATED.subject: _NO_GOAL_WORKFLOW,
    goals_events.KR_CLOSED.subject: _NO_GOAL_WORKFLOW,
    goals_events.RISK_RULES_CHANGED.subject: "each check-in is assessed under the rules in force",
    audit_subject("goals"): "audit entries are appended to identity's hash chain",
    audit_subject("identity"): "audit entries are appended to identity's hash chain",
    identity_events.DEPARTMENT_CREATED.subject: "workflows read the org when they need it",
    identity_events.DEPARTMENT_UPDATED.subject: "workflows read the org when they need it",
    identity_events.EMPLOYEE_CREATED.subject: "workflows read the org when they need it",
    identity_events.EMPLOYEE_UPDATED.subject: "workflows read the org when they need it",
    identity_events.EMPLOYEE_DEACTIVATED.subject: "workflows read the org when they need it",
    # Continuous feedback: the people concerned see it in the app (a request goes to the inbox
    # of the one asked from the feedback service itself); no workflow reacts.
    audit_subject("feedback"): "audit entries are appended to identity's hash chain",
    feedback_events.FEEDBACK_GIVEN.subject: _NO_FEEDBACK_WORKFLOW,
    feedback_events.PRAISE_GIVEN.subject: _NO_FEEDBACK_WORKFLOW,
    feedback_events.FEEDBACK_REQUESTED.subject: _NO_FEEDBACK_WORKFLOW,
    feedback_events.UPWARD_GIVEN.subject: _NO_FEEDBACK_WORKFLOW,
    feedback_events.RAISED.subject: _NO_FEEDBACK_WORKFLOW,
    feedback_events.ANSWERED.subject: _NO_FEEDBACK_WORKFLOW,
    feedback_events.SETTINGS_CHANGED.subject: "rounds read the threshold when they close",
    feedback_events.ROUND_CLOSED_EVENT.subject: "the round's workflow closed it itself",
    feedback_events.PROMOTION_DECIDED.subject: "the promotion's workflow decided it itself",
    feedback_events.PROMOTION_RULES_CHANGED.subject: "eligibility reads the rules in force",
    # Telemetry: a binding's value and staleness reach goals over gRPC (RecordMachineValue,
    # SetKeyResultStale), whose risk status 'stale' escalates nothing.
    audit_subject("telemetry"): "audit entries are appended to identity's hash chain",
    telemetry_events.BINDING_CREATED.subject: "telemetry pushes bound values to goals itself",
    telemetry_events.BINDING_DELETED.subject: "telemetry pushes bound values to goals itself",
    telemetry_events.STALENESS_CHANGED.subject: "goals' risk status 'stale' escalates nothing",
}


def decode(subject: str, data: bytes) -> Message:
    """The event of a routed subject, decoded by its registry (InvalidEvent when it is not one)."""
    if subject not in ROUTES:
        raise InvalidEvent(f"not a bridged subject: {subject}")
    registry = next(r for r in REGISTRIES if subject in r)
    try:
        return registry.decode(subject, data)
    except DecodeError as err:
        name = registry.message_of(subject).__name__
        raise InvalidEvent(f"not a {name}: {err}") from err


@dataclass
class _Decoded:
    msg: Msg
    event: Message
    route: Route[Any]
    # Stream sequence (the order the producer's relay published in).
    seq: int


@dataclass
class _Hold:
    """A key whose event ``seq`` failed: its later events wait until that one is settled."""

    seq: int
    # Event-loop time at which JetStream redelivers it, and after which the hold is given up.
    due: float
    expires: float


def _sequence(msg: Msg) -> int:
    try:
        return int(msg.metadata.sequence.stream)
    except Exception:  # not a JetStream message (tests): arrival order
        return 0


class EventBridge:
    """Pull goals events from JetStream and hand them to Temporal until stopped."""

    def __init__(
        self,
        js: JetStreamContext,
        client: Client,
        *,
        task_queue: str,
        consumer: str,
        default_time_zone: str = DEFAULT_TIME_ZONE,
        batch_size: int = 64,
        fetch_timeout: float = 1.0,
        ack_wait: float = 30.0,
        retry_base_delay: float = 1.0,
        retry_max_delay: float = 60.0,
        stream_replicas: int = 1,
        approval_pending: ApprovalPending | None = None,
    ) -> None:
        self._js = js
        self._context = Context(client, task_queue, default_time_zone, approval_pending)
        self._stream_replicas = stream_replicas
        self._task_queue = task_queue
        self._consumer = consumer
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._ack_wait = ack_wait
        self._retry_base_delay = retry_base_delay
        self._retry_max_delay = retry_max_delay
        self._stopping = asyncio.Event()
        # One pull subscription per routed stream (routed_streams()).
        self._subs: list[JetStreamContext.PullSubscription] = []
        # Keys whose failed event has not been settled yet (see the module docstring).
        self._holds: dict[str, _Hold] = {}
        # Event-loop time of the last fetch that returned (messages or a timeout): the
        # worker's /readyz reports a bridge that stopped fetching.
        self.last_fetch: float | None = None

    async def setup(self) -> None:
        """Create the streams (if needed) and a durable consumer per routed stream (or update
        its config)."""
        await ensure_streams(self._js, replicas=self._stream_replicas)
        subs = []
        for stream, subjects in routed_streams().items():
            name = consumer_name(self._consumer, stream)
            area = stream.removeprefix("STRIDE_").lower()
            await self._js.add_consumer(
                stream,
                ConsumerConfig(
                    name=name,
                    durable_name=name,
                    description=f"worker: {area} events to Temporal workflows",
                    filter_subjects=subjects,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=self._ack_wait,
                    max_deliver=-1,
                ),
            )
            subs.append(await self._js.pull_subscribe_bind(durable=name, stream=stream))
        self._subs = subs

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand is handled."""
        self._stopping.set()

    async def run(self) -> None:
        """Fetch and handle batches until :meth:`stop`; unsubscribes on the way out.

        Each stream is followed on its own: a batch of one stream is handled as soon as it
        arrives, not when every other stream's fetch has returned too (an idle stream's fetch
        only returns at its timeout, which delayed every goals event by up to a second)."""
        if not self._subs:
            await self.setup()
        subs = self._subs
        log.info("event bridge started", consumer=self._consumer, task_queue=self._task_queue)
        try:
            async with asyncio.TaskGroup() as streams:
                for sub in subs:
                    streams.create_task(self._follow(sub))
        finally:
            self._subs = []
            for sub in subs:
                try:
                    await sub.unsubscribe()
                except Exception as err:  # connection already closed: nothing to release
                    log.debug("bridge unsubscribe failed", error=str(err))
            log.info("event bridge stopped", consumer=self._consumer)

    async def _follow(self, sub: JetStreamContext.PullSubscription) -> None:
        """One stream's batches, each handled before the next fetch, until :meth:`stop`.
        The streams' keys are their own (``kr:``, ``plan:``, ``cycle:`` on STRIDE_GOALS;
        ``round:``, ``promotion:`` on STRIDE_FEEDBACK), so their batches need no common order."""
        while not self._stopping.is_set():
            try:
                msgs = await self._fetch(sub)
            except Exception as err:
                # E.g. NATS reconnecting: nats-py reconnects by itself, so keep going.
                log.warning("bridge: fetch failed, retrying", error=repr(err))
                await asyncio.sleep(1.0)
                continue
            self.last_fetch = asyncio.get_running_loop().time()
            if msgs:
                # Shielded: a cancelled run still settles (acks / naks) the batch in hand.
                await asyncio.shield(self.handle_batch(msgs))

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """One stream's next batch; empty when none came before the timeout (an idle stream,
        not a failure: nats-py raises nats.errors.TimeoutError or, when the answer to its
        no-wait probe is read after the deadline (a busy loop), a bare asyncio.TimeoutError;
        both are TimeoutError)."""
        try:
            return await sub.fetch(self._batch_size, timeout=self._fetch_timeout)
        except TimeoutError:
            return []

    async def handle_batch(self, msgs: list[Msg]) -> None:
        groups: dict[str, list[_Decoded]] = {}
        for msg in msgs:
            try:
                event = decode(msg.subject, msg.data)
            except InvalidEvent as err:
                await self._terminate(msg, err)
                continue
            route = ROUTES[msg.subject]
            item = _Decoded(msg, event, route, _sequence(msg))
            groups.setdefault(route.key(event), []).append(item)
        results = await asyncio.gather(
            *(self._handle_key(key, group) for key, group in groups.items()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                # Acking / nak'ing failed (NATS connection trouble): JetStream redelivers
                # whatever stayed unacknowledged after ack_wait.
                log.warning("bridge: could not settle messages", error=repr(result))

    async def _handle_key(self, key: str, group: list[_Decoded]) -> None:
        """Handle one key's events in stream order; after a failure hold the rest back."""
        group.sort(key=lambda item: item.seq)
        for index, item in enumerate(group):
            delay = self._held_for(key, item)
            if delay is not None:
                rest = group[index:]
            else:
                delay = await self._handle_one(item)
                if delay is None:  # settled
                    hold = self._holds.get(key)
                    if hold is not None and hold.seq == item.seq:
                        del self._holds[key]
                    continue
                now = asyncio.get_running_loop().time()
                grace = max(self._ack_wait, self._retry_max_delay)
                self._holds[key] = _Hold(item.seq, now + delay, now + delay + grace)
                rest = group[index + 1 :]
            for later in rest:
                await self._hold_back(later, delay)
            return

    def _held_for(self, key: str, item: _Decoded) -> float | None:
        """The nak delay of an event that must wait for an earlier failed one, else None."""
        hold = self._holds.get(key)
        if hold is None or item.seq <= hold.seq:
            return None
        now = asyncio.get_running_loop().time()
        if now > hold.expires:
            log.warning("bridge: gave up waiting for a failed event", key=key, seq=hold.seq)
            del self._holds[key]
            return None
        return max(hold.due - now, self._retry_base_delay)

    async def _hold_back(self, item: _Decoded, delay: float) -> None:
        await item.msg.nak(delay=delay)
        metrics.event_consumed(self._consumer, item.msg.subject, HELD, num_delivered(item.msg))
        log.debug("bridge: event held back", event_id=_event_id(item.event), retry_in=delay)

    async def _handle_one(self, item: _Decoded) -> float | None:
        """Handle and settle one message; the delay it was nak'd with, None once settled."""
        msg, event = item.msg, item.event
        try:
            with consumer_span(msg.subject, msg.headers):
                outcome = await item.route.handle(self._context, event)
        except InvalidEvent as err:
            await self._terminate(msg, err)
            return None
        except Exception as err:
            metrics.event_consumed(self._consumer, msg.subject, "retry", num_delivered(msg))
            delay = self._retry_delay(msg)
            log.warning(
                "bridge: Temporal did not take the event, retrying",
                event_id=_event_id(event),
                delivered=num_delivered(msg),
                retry_in=delay,
                error=str(err),
                error_type=type(err).__name__,
            )
            await msg.nak(delay=delay)
            return delay
        await msg.ack()
        metrics.event_consumed(self._consumer, msg.subject, str(outcome), num_delivered(msg))
        if outcome in (Outcome.ESCALATED, Outcome.SIGNALLED):
            metrics.escalation_signalled(str(outcome))
        log.debug("bridge: event handled", event_id=_event_id(event), outcome=str(outcome))
        return None

    def _retry_delay(self, msg: Msg) -> float:
        attempt = min(max(num_delivered(msg), 1), 32)
        return min(self._retry_base_delay * 2 ** (attempt - 1), self._retry_max_delay)

    async def _terminate(self, msg: Msg, err: Exception) -> None:
        log.error(
            "bridge: dropping an event that can never be handled",
            subject=msg.subject,
            msg_id=(msg.headers or {}).get("Nats-Msg-Id"),
            error=str(err),
        )
        await msg.term()
        metrics.event_consumed(self._consumer, msg.subject, "dropped", num_delivered(msg))


def _event_id(event: Message) -> str:
    meta = getattr(event, "meta", None)
    return str(meta.event_id) if meta is not None else ""
