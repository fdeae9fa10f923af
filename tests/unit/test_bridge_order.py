"""The bridge hands a key result's events to Temporal in stream order, also across naks.

Messages are fakes carrying a stream sequence and a delivery count; the check-in route's
handler is replaced by one that records what it was given and fails on demand. JetStream's
redelivery is played by hand: the test decides which messages come back in which batch.
"""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from services.goals.events import CHECKIN_RECORDED
from services.worker import bridge
from services.worker.bridge import HELD, EventBridge, Route
from services.worker.handlers import Outcome
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2

SUBJECT = CHECKIN_RECORDED.subject


class FakeMsg:
    """A JetStream message: its stream sequence and how it was settled."""

    def __init__(self, kr: str, week: str, seq: int) -> None:
        event = goals_pb2.CheckInRecorded(
            meta=common_pb2.EventMeta(event_id=f"{kr}/{week}"),
            check_in=goals_pb2.CheckIn(id=str(uuid.uuid4()), key_result_id=kr, week=week),
            key_result=goals_pb2.KeyResult(id=kr),
        )
        self.subject, self.data, self.headers = SUBJECT, event.SerializeToString(), None
        self.name, self.seq, self.delivered = f"{kr}/{week}", seq, 0
        self.settled: list[tuple[str, float | None]] = []

    @property
    def metadata(self) -> Any:
        return SimpleNamespace(
            sequence=SimpleNamespace(stream=self.seq), num_delivered=self.delivered
        )

    def deliver(self) -> FakeMsg:
        self.delivered += 1
        return self

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def nak(self, delay: float | None = None) -> None:
        self.settled.append(("nak", delay))

    async def term(self) -> None:
        self.settled.append(("term", None))


class Temporal:
    """The check-in route's handler: records each event it is given, fails the chosen ones."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: dict[str, int] = {}

    async def handle(self, ctx: bridge.Context, event: goals_pb2.CheckInRecorded) -> Outcome:
        await asyncio.sleep(0)  # let the other keys' handlers interleave
        name = event.meta.event_id
        self.calls.append(name)
        if self.fail.get(name, 0) > 0:
            self.fail[name] -= 1
            raise RuntimeError("injected: Temporal unavailable")
        return Outcome.ESCALATED

    def accepted(self, kr: str) -> list[str]:
        """The events of ``kr`` in the order Temporal took them (failed attempts left out)."""
        failed_first = {n: self.calls.count(n) - 1 for n in set(self.calls)}
        out = []
        for name in self.calls:
            if not name.startswith(f"{kr}/"):
                continue
            if failed_first[name] > 0:
                failed_first[name] -= 1
                continue
            out.append(name)
        return out


@pytest.fixture
def temporal(monkeypatch: pytest.MonkeyPatch) -> Temporal:
    fake = Temporal()
    route = bridge.ROUTES[SUBJECT]
    monkeypatch.setitem(bridge.ROUTES, SUBJECT, Route(route.event, fake.handle, route.key))
    return fake


def new_bridge(**kwargs: Any) -> EventBridge:
    return EventBridge(
        None,  # type: ignore[arg-type]
        client=None,  # type: ignore[arg-type]
        task_queue="q",
        consumer=f"c-{uuid.uuid4().hex[:8]}",
        **{"retry_base_delay": 1.0, "retry_max_delay": 60.0, **kwargs},
    )


async def batch(b: EventBridge, *msgs: FakeMsg) -> None:
    await b.handle_batch([m.deliver() for m in msgs])  # type: ignore[misc]


async def test_a_failure_holds_the_key_results_later_events_with_the_same_delay(
    temporal: Temporal,
) -> None:
    b = new_bridge()
    a1, a2, a3 = FakeMsg("a", "W1", 1), FakeMsg("a", "W2", 3), FakeMsg("a", "W3", 4)
    other = FakeMsg("b", "W1", 2)
    # a1 is on its second delivery (back-off 2 s), a2 and a3 on their first (1 s): all three
    # wait 2 s, so that a2 and a3 do not come back before a1.
    a1.delivered = 1
    temporal.fail[a1.name] = 1
    await batch(b, a3, a1, other, a2)  # fetched out of order: handled by stream sequence
    assert a1.settled == [("nak", 2.0)]
    assert a2.settled == a3.settled == [("nak", 2.0)]
    assert other.settled == [("ack", None)]
    assert temporal.calls.count(a2.name) == temporal.calls.count(a3.name) == 0


async def test_later_events_arriving_before_the_failed_one_are_held_again(
    temporal: Temporal,
) -> None:
    b = new_bridge(retry_base_delay=0.5)
    a1, a2, a3 = FakeMsg("a", "W1", 1), FakeMsg("a", "W2", 2), FakeMsg("a", "W3", 3)
    temporal.fail[a1.name] = 2
    await batch(b, a1)
    # A later event of the key in the next fetch does not overtake the failed one...
    await batch(b, a2)
    assert a2.settled == [("nak", pytest.approx(0.5, abs=0.1))]
    # ...nor does one redelivered together with it when the failed one fails again.
    await batch(b, a3, a1)
    assert a1.settled[-1][0] == "nak" and a3.settled[-1][0] == "nak"
    # The failed event comes back last: it is handled first, then the others in order.
    await batch(b, a3, a2, a1)
    assert [m.settled[-1] for m in (a1, a2, a3)] == [("ack", None)] * 3
    assert temporal.accepted("a") == [a1.name, a2.name, a3.name]
    held = [s for m in (a2, a3) for s in m.settled if s[0] == "nak"]
    assert len(held) == 2 and temporal.calls.count(a2.name) == 1


async def test_other_key_results_are_not_held(temporal: Temporal) -> None:
    b = new_bridge()
    a1, b1, b2 = FakeMsg("a", "W1", 1), FakeMsg("b", "W1", 2), FakeMsg("b", "W2", 3)
    temporal.fail[a1.name] = 1
    await batch(b, a1, b1)
    await batch(b, b2)
    assert b1.settled == b2.settled == [("ack", None)]
    assert temporal.accepted("b") == [b1.name, b2.name]


async def test_an_older_redelivery_is_handled_while_the_key_is_held(temporal: Temporal) -> None:
    b = new_bridge()
    a1, a2 = FakeMsg("a", "W1", 1), FakeMsg("a", "W2", 2)
    temporal.fail[a2.name] = 1
    await batch(b, a2)
    # a1 (an earlier sequence, e.g. its ack was lost) is not held behind a2.
    await batch(b, a1)
    assert a1.settled == [("ack", None)]
    await batch(b, a2)
    assert a2.settled[-1] == ("ack", None)


async def test_a_hold_is_given_up_when_the_failed_event_never_comes_back(
    temporal: Temporal,
) -> None:
    b = new_bridge(retry_base_delay=0.01, retry_max_delay=0.01, ack_wait=0.01)
    a1, a2 = FakeMsg("a", "W1", 1), FakeMsg("a", "W2", 2)
    temporal.fail[a1.name] = 1
    await batch(b, a1)
    await asyncio.sleep(0.1)  # a1 was settled elsewhere (another replica): it never returns
    await batch(b, a2)
    assert a2.settled == [("ack", None)]


async def test_held_events_are_counted_apart_from_retries(
    temporal: Temporal, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes: list[str] = []
    monkeypatch.setattr(
        bridge.metrics, "event_consumed", lambda _c, _s, outcome, _d=1: outcomes.append(outcome)
    )
    b = new_bridge()
    a1, a2 = FakeMsg("a", "W1", 1), FakeMsg("a", "W2", 2)
    temporal.fail[a1.name] = 1
    await batch(b, a1, a2)
    assert outcomes == ["retry", HELD]
