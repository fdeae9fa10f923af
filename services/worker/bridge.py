"""Event bridge: NATS JetStream events → Temporal signals and workflow starts.

A durable pull consumer on ``STRIDE_GOALS`` filtered to the subjects below.

``stride.goals.v1.checkin.recorded``:

- risk ``AT_RISK``  → signal-with-start ``kr-escalation/<kr>`` (starts the escalation or
  signals the running one);
- risk ``ON_TRACK`` → signal the running escalation only (none running: nothing to do);
- anything else     → nothing.

``stride.goals.v1.approval.requested`` → signal-with-start ``cycle/<cycle>/plan/<employee>``
(the approval workflow; a running one gets the new approval as a signal, which it dedupes by
event id and approval id).

``stride.goals.v1.cycle.created`` → start ``cycle/<cycle>`` (id reuse rejected: a workflow
that exists already, running or finished, counts as done).

A message is acknowledged only after Temporal accepted the signal. A transient failure naks
it with a growing delay (it comes back; nothing is lost); a message that can never be handled
(undecodable, missing fields) is terminated and logged. Redelivery is harmless: the workflow
ignores an ``event_id`` it has seen. Within one fetched batch, the events of one key result
are handled in order, different key results concurrently; when one event of a key result
fails, its later events in the batch are nak'd too so that they do not overtake it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import grpc
import nats.errors
import structlog
from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common import metrics
from services.common.channels import channel
from services.common.nats import GOALS_STREAM, ensure_streams, num_delivered
from services.common.telemetry import consumer_span
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from workflows import calendar, plan_approval
from workflows import cycle as cycle_wf
from workflows.audit import memo
from workflows.calendar import end_of_day, rfc3339
from workflows.kr_escalation import (
    RISK_AT_RISK,
    RISK_BEHIND,
    RISK_NO_DATA,
    RISK_ON_TRACK,
    SIGNAL_RISK_ASSESSED,
    KrEscalationInput,
    KrEscalationWorkflow,
    RiskSignal,
    memo_title,
    workflow_id,
)

log = structlog.get_logger(__name__)

CHECKIN_RECORDED_SUBJECT = "stride.goals.v1.checkin.recorded"
APPROVAL_REQUESTED_SUBJECT = "stride.goals.v1.approval.requested"
CYCLE_CREATED_SUBJECT = "stride.goals.v1.cycle.created"
SUBJECTS = (CHECKIN_RECORDED_SUBJECT, APPROVAL_REQUESTED_SUBJECT, CYCLE_CREATED_SUBJECT)
DEFAULT_TIME_ZONE = "Asia/Shanghai"

_RISK_STATUS_NAMES: dict[int, str] = {
    goals_pb2.RISK_STATUS_AT_RISK: RISK_AT_RISK,
    goals_pb2.RISK_STATUS_BEHIND: RISK_BEHIND,
    goals_pb2.RISK_STATUS_ON_TRACK: RISK_ON_TRACK,
    goals_pb2.RISK_STATUS_NO_DATA: RISK_NO_DATA,
}


class Outcome(StrEnum):
    """What the bridge did with one event."""

    # AT_RISK: signal-with-start accepted (escalation started or signalled).
    ESCALATED = "escalated"
    # ON_TRACK: the running escalation was signalled.
    SIGNALLED = "signalled"
    # ON_TRACK but no escalation is running for the key result.
    NO_ESCALATION = "no_escalation"
    # BEHIND / NO_DATA / unspecified: nothing to tell Temporal.
    IGNORED = "ignored"
    # ApprovalRequested: signal-with-start of the approval workflow accepted.
    APPROVAL_REQUESTED = "approval_requested"
    # ApprovalRequested for an approval goals says is no longer pending (a redelivered or
    # replayed event): no workflow is started for it.
    APPROVAL_SETTLED = "approval_settled"
    # CycleCreated: cycle/<cycle> started, or it existed already.
    CYCLE_STARTED = "cycle_started"
    CYCLE_EXISTS = "cycle_exists"


# approval id → whether goals still has it pending (raises when goals cannot tell now).
ApprovalPending = Callable[[str], Awaitable[bool]]


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


class InvalidEvent(ValueError):
    """The event can never be handled (undecodable or missing what the bridge needs)."""


def cycle_end_utc(end_date: str, time_zone: str) -> str:
    """End of the cycle's last day (``end_date`` inclusive, in ``time_zone``) as RFC 3339 UTC.

    >>> cycle_end_utc("2026-12-31", "Asia/Shanghai")
    '2026-12-31T16:00:00Z'
    """
    _valid_zone(time_zone)
    try:
        last_day = date.fromisoformat(end_date)
    except ValueError as err:
        raise InvalidEvent(f"cycle_end_date is not an ISO date: {end_date!r}") from err
    return rfc3339(end_of_day(last_day, time_zone))


def decode_check_in_recorded(data: bytes) -> goals_pb2.CheckInRecorded:
    event = decode(CHECKIN_RECORDED_SUBJECT, data)
    assert isinstance(event, goals_pb2.CheckInRecorded)
    return event


def _risk_signal(event: goals_pb2.CheckInRecorded, status: str) -> RiskSignal:
    return RiskSignal(
        event_id=event.meta.event_id,
        check_in_id=event.check_in.id,
        week=event.check_in.week,
        status=status,
        shortfall=event.check_in.risk.shortfall,
        behind_streak=event.check_in.risk.behind_streak,
    )


def _require(event: goals_pb2.CheckInRecorded) -> str:
    """Validate what every handled event needs; return the key result id."""
    key_result_id = event.key_result.id or event.check_in.key_result_id
    _missing(
        (
            ("meta.event_id", event.meta.event_id),
            ("key_result.id", key_result_id),
            ("check_in.week", event.check_in.week),
        ),
        "CheckInRecorded",
    )
    return key_result_id


async def handle_check_in_recorded(
    client: Client,
    event: goals_pb2.CheckInRecorded,
    *,
    task_queue: str,
    default_time_zone: str = DEFAULT_TIME_ZONE,
) -> Outcome:
    """Tell Temporal about one decoded ``CheckInRecorded`` event.

    ``default_time_zone`` (the organisation's) applies when the event names none.

    Raises :class:`InvalidEvent` for an event that can never be handled and ``RPCError`` (or
    any other exception) for a failure worth retrying.
    """
    status = _RISK_STATUS_NAMES.get(event.check_in.risk.status)
    if status not in (RISK_AT_RISK, RISK_ON_TRACK):
        return Outcome.IGNORED
    key_result_id = _require(event)
    signal = _risk_signal(event, status)
    if status == RISK_AT_RISK:
        if not event.cycle_end_date:
            raise InvalidEvent("CheckInRecorded lacks cycle_end_date")
        escalation = KrEscalationInput(
            key_result_id=key_result_id,
            cycle_id=event.cycle_id or event.key_result.cycle_id,
            department_id=event.key_result.department_id,
            cycle_end_utc=cycle_end_utc(event.cycle_end_date, event.time_zone or default_time_zone),
        )
        await client.start_workflow(
            KrEscalationWorkflow.run,
            escalation,
            id=workflow_id(key_result_id),
            task_queue=task_queue,
            start_signal=SIGNAL_RISK_ASSESSED,
            start_signal_args=[signal],
            memo=memo(memo_title(key_result_id)),
        )
        return Outcome.ESCALATED
    handle = client.get_workflow_handle(workflow_id(key_result_id))
    try:
        await handle.signal(SIGNAL_RISK_ASSESSED, signal)
    except RPCError as err:
        # Never started, or already closed (resolved / cycle ended): nothing to resolve.
        if err.status == RPCStatusCode.NOT_FOUND:
            return Outcome.NO_ESCALATION
        raise
    return Outcome.SIGNALLED


_APPROVAL_KINDS = {
    goals_pb2.APPROVAL_KIND_PLAN: plan_approval.KIND_PLAN,
    goals_pb2.APPROVAL_KIND_REVISION: plan_approval.KIND_REVISION,
}


def _missing(fields: tuple[tuple[str, str], ...], what: str) -> None:
    missing = [name for name, value in fields if not value]
    if missing:
        raise InvalidEvent(f"{what} lacks {', '.join(missing)}")


def _valid_zone(time_zone: str) -> str:
    try:
        calendar.zone(time_zone)
    except ValueError as err:
        raise InvalidEvent(str(err)) from err
    return time_zone


def approval_title(event: goals_pb2.ApprovalRequested) -> str:
    """The Temporal memo title: goals' (documented as free of personal data) or ids only."""
    kind = _APPROVAL_KINDS.get(event.approval.kind, "plan")
    return event.title or f"Goal {kind} approval · cycle {event.approval.cycle_id}"


async def handle_approval_requested(
    client: Client,
    event: goals_pb2.ApprovalRequested,
    *,
    task_queue: str,
    default_time_zone: str = DEFAULT_TIME_ZONE,
    still_pending: ApprovalPending | None = None,
) -> Outcome:
    """Signal-with-start the approval workflow of the person and cycle of ``event``.

    With ``still_pending`` (the worker asks goals), an approval that was decided meanwhile is
    not started again: an event redelivered or replayed after its workflow ended would
    otherwise open a new run that reminds and escalates a settled approval.
    """
    a = event.approval
    _missing(
        (
            ("meta.event_id", event.meta.event_id),
            ("approval.id", a.id),
            ("approval.cycle_id", a.cycle_id),
            ("approval.employee_id", a.employee_id),
        ),
        "ApprovalRequested",
    )
    kind = _APPROVAL_KINDS.get(a.kind)
    if kind is None:
        raise InvalidEvent(f"ApprovalRequested has an unknown kind {a.kind}")
    time_zone = _valid_zone(event.time_zone or default_time_zone)
    if still_pending is not None and not await still_pending(a.id):
        return Outcome.APPROVAL_SETTLED
    wid = a.workflow_id or plan_approval.workflow_id(a.cycle_id, a.employee_id)
    await client.start_workflow(
        plan_approval.PlanApprovalWorkflow.run,
        plan_approval.PlanApprovalInput(
            cycle_id=a.cycle_id,
            employee_id=a.employee_id,
            department_id=a.department_id,
            time_zone=time_zone,
        ),
        id=wid,
        task_queue=task_queue,
        start_signal=plan_approval.SIGNAL_APPROVAL_REQUESTED,
        start_signal_args=[
            plan_approval.ApprovalRequest(
                event_id=event.meta.event_id,
                approval_id=a.id,
                kind=kind,
                approver_ids=list(a.approver_ids),
                requested_at=a.created_at or event.meta.occurred_at,
                objective_ids=list(a.objective_ids),
                revision_id=a.revision_id,
            )
        ],
        memo={"title": approval_title(event)},
    )
    return Outcome.APPROVAL_REQUESTED


async def handle_cycle_created(
    client: Client,
    event: goals_pb2.CycleCreated,
    *,
    task_queue: str,
    default_time_zone: str = DEFAULT_TIME_ZONE,
) -> Outcome:
    """Start ``cycle/<cycle>``; one that exists (running or finished) counts as done."""
    c = event.cycle
    _missing(
        (("cycle.id", c.id), ("cycle.start_date", c.start_date), ("cycle.end_date", c.end_date)),
        "CycleCreated",
    )
    cycle_input = cycle_wf.CycleInput(
        cycle_id=c.id,
        start_date=c.start_date,
        end_date=c.end_date,
        time_zone=_valid_zone(c.time_zone or default_time_zone),
        planning_deadline=c.planning_deadline,
        approval_deadline=c.approval_deadline,
        closing_deadline=c.closing_deadline,
    )
    try:
        cycle_wf.calendar_of(cycle_input)
    except ValueError as err:
        raise InvalidEvent(f"CycleCreated has bad dates: {err}") from err
    try:
        await client.start_workflow(
            cycle_wf.CycleWorkflow.run,
            cycle_input,
            id=cycle_wf.workflow_id(c.id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"title": f"OKR cycle {c.id}"},
        )
    except WorkflowAlreadyStartedError:
        return Outcome.CYCLE_EXISTS
    return Outcome.CYCLE_STARTED


_EVENT_TYPES: dict[str, type[Message]] = {
    CHECKIN_RECORDED_SUBJECT: goals_pb2.CheckInRecorded,
    APPROVAL_REQUESTED_SUBJECT: goals_pb2.ApprovalRequested,
    CYCLE_CREATED_SUBJECT: goals_pb2.CycleCreated,
}


def decode(subject: str, data: bytes) -> Message:
    """The event of a bridged subject (InvalidEvent when it is not one)."""
    cls = _EVENT_TYPES.get(subject)
    if cls is None:
        raise InvalidEvent(f"not a bridged subject: {subject}")
    event = cls()
    try:
        event.ParseFromString(data)
    except DecodeError as err:
        raise InvalidEvent(f"not a {cls.__name__}: {err}") from err
    return event


def order_key(event: Message) -> str:
    """Events with the same key are handled in order within a batch."""
    if isinstance(event, goals_pb2.CheckInRecorded):
        return f"kr:{event.key_result.id or event.check_in.key_result_id}"
    if isinstance(event, goals_pb2.ApprovalRequested):
        return f"plan:{event.approval.cycle_id}/{event.approval.employee_id}"
    if isinstance(event, goals_pb2.CycleCreated):
        return f"cycle:{event.cycle.id}"
    return "other"


@dataclass
class _Decoded:
    msg: Msg
    event: Message


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
        self._approval_pending = approval_pending
        self._stream_replicas = stream_replicas
        self._client = client
        self._task_queue = task_queue
        self._consumer = consumer
        self._default_time_zone = default_time_zone
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._ack_wait = ack_wait
        self._retry_base_delay = retry_base_delay
        self._retry_max_delay = retry_max_delay
        self._stopping = asyncio.Event()
        self._sub: JetStreamContext.PullSubscription | None = None
        # Event-loop time of the last fetch that returned (messages or a timeout): the
        # worker's /readyz reports a bridge that stopped fetching.
        self.last_fetch: float | None = None

    async def setup(self) -> None:
        """Create the stream (if needed) and the durable consumer (or update its config)."""
        await ensure_streams(self._js, replicas=self._stream_replicas)
        await self._js.add_consumer(
            GOALS_STREAM,
            ConsumerConfig(
                name=self._consumer,
                durable_name=self._consumer,
                description="worker: goals events to Temporal workflows",
                filter_subjects=list(SUBJECTS),
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self._ack_wait,
                max_deliver=-1,
            ),
        )
        self._sub = await self._js.pull_subscribe_bind(durable=self._consumer, stream=GOALS_STREAM)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand is handled."""
        self._stopping.set()

    async def run(self) -> None:
        """Fetch and handle batches until :meth:`stop`; unsubscribes on the way out."""
        if self._sub is None:
            await self.setup()
        sub = self._sub
        assert sub is not None
        log.info("event bridge started", consumer=self._consumer, task_queue=self._task_queue)
        try:
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(self._batch_size, timeout=self._fetch_timeout)
                except nats.errors.TimeoutError:
                    self.last_fetch = asyncio.get_running_loop().time()
                    continue
                except Exception as err:
                    # E.g. NATS reconnecting: nats-py reconnects by itself, so keep going.
                    log.warning("bridge: fetch failed, retrying", error=str(err))
                    await asyncio.sleep(1.0)
                    continue
                self.last_fetch = asyncio.get_running_loop().time()
                # Shielded: a cancelled run still settles (acks / naks) the batch in hand.
                await asyncio.shield(self.handle_batch(msgs))
        finally:
            self._sub = None
            try:
                await sub.unsubscribe()
            except Exception as err:  # connection already closed: nothing to release
                log.debug("bridge unsubscribe failed", error=str(err))
            log.info("event bridge stopped", consumer=self._consumer)

    async def handle_batch(self, msgs: list[Msg]) -> None:
        groups: dict[str, list[_Decoded]] = {}
        for msg in msgs:
            try:
                event = decode(msg.subject, msg.data)
            except InvalidEvent as err:
                await self._terminate(msg, err)
                continue
            groups.setdefault(order_key(event), []).append(_Decoded(msg, event))
        results = await asyncio.gather(
            *(self._handle_in_order(group) for group in groups.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                # Acking / nak'ing failed (NATS connection trouble): JetStream redelivers
                # whatever stayed unacknowledged after ack_wait.
                log.warning("bridge: could not settle messages", error=repr(result))

    async def _handle_in_order(self, group: list[_Decoded]) -> None:
        for index, item in enumerate(group):
            if not await self._handle_one(item):
                # Keep the key result's order: its later events wait for the failed one.
                for later in group[index + 1 :]:
                    await later.msg.nak(delay=self._retry_delay(later.msg))
                return

    async def _handle_one(self, item: _Decoded) -> bool:
        """Handle and settle one message; False when it was nak'd for a retry."""
        msg, event = item.msg, item.event
        try:
            with consumer_span(msg.subject, msg.headers):
                outcome = await self._dispatch(event)
        except InvalidEvent as err:
            await self._terminate(msg, err)
            return True
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
            return False
        await msg.ack()
        metrics.event_consumed(self._consumer, msg.subject, str(outcome), num_delivered(msg))
        if outcome in (Outcome.ESCALATED, Outcome.SIGNALLED):
            metrics.escalation_signalled(str(outcome))
        log.debug("bridge: event handled", event_id=_event_id(event), outcome=str(outcome))
        return True

    async def _dispatch(self, event: Message) -> Outcome:
        kwargs = {"task_queue": self._task_queue, "default_time_zone": self._default_time_zone}
        if isinstance(event, goals_pb2.CheckInRecorded):
            return await handle_check_in_recorded(self._client, event, **kwargs)
        if isinstance(event, goals_pb2.ApprovalRequested):
            return await handle_approval_requested(
                self._client, event, still_pending=self._approval_pending, **kwargs
            )
        if isinstance(event, goals_pb2.CycleCreated):
            return await handle_cycle_created(self._client, event, **kwargs)
        raise InvalidEvent(f"no handler for {type(event).__name__}")

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
