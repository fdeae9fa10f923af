"""The dashboard feed's refresh window (services/goals/dashboard_feed.py): an idle stream's
first event is refreshed at once, so is an event the stream pauses after; a steady stream is
gathered into one refresh per window, every event acknowledged after the refresh that
covers it. A full fetch does not end a window; a slow refresh makes the next one wait
(the refreshes' share of the time is bounded)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError

from services.common.tasks import cancel_and_wait
from services.goals import dashboard_feed
from services.goals.dashboard_feed import DashboardFeed
from services.goals.events import CHECKIN_RECORDED
from stride.goals.v1 import goals_pb2 as pb


class _Msg:
    def __init__(self, department: str) -> None:
        kr = pb.KeyResult(id="k", objective_id="o", cycle_id="c", department_id=department)
        self.subject = CHECKIN_RECORDED.subject
        self.data = pb.CheckInRecorded(key_result=kr, cycle_id="c").SerializeToString()


class _Sub:
    """Messages put on a queue by the test; ``fetch`` returns what is waiting (at least one,
    else it waits up to ``timeout``), as nats-py's pull subscription does."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[_Msg] = asyncio.Queue()

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        try:
            first = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            raise NatsTimeoutError from None
        got = [first]
        while len(got) < batch and not self.queue.empty():
            got.append(self.queue.get_nowait())
        return got


class _Feed(DashboardFeed):
    def __init__(self, refresh_seconds: float) -> None:
        super().__init__(None, None, refresh_seconds=refresh_seconds)  # type: ignore[arg-type]
        self.refreshes: list[tuple[int, set[tuple[str, str]]]] = []
        self.refreshed = asyncio.Event()

    async def handle(self, msgs: list[Any], touched: set[tuple[str, str]]) -> None:
        self.refreshes.append((len(msgs), touched))
        self.refreshed.set()

    async def until_handled(self, count: int) -> None:
        async with asyncio.timeout(2):
            while sum(n for n, _ in self.refreshes) < count:
                self.refreshed.clear()
                await self.refreshed.wait()


@contextlib.asynccontextmanager
async def _following(feed: DashboardFeed, sub: _Sub) -> AsyncIterator[None]:
    """``feed`` follows ``sub`` for the duration of the block."""
    task = asyncio.create_task(feed.follow(sub))
    try:
        yield
    finally:
        await cancel_and_wait(task)


async def test_an_idle_streams_event_is_refreshed_at_once() -> None:
    feed, sub = _Feed(refresh_seconds=30.0), _Sub()
    async with _following(feed, sub):
        await sub.queue.put(_Msg("d1"))
        await feed.until_handled(1)
        assert feed.refreshes == [(1, {("c", "d1")})]


async def test_a_steady_stream_is_refreshed_once_per_window() -> None:
    feed, sub = _Feed(refresh_seconds=0.3), _Sub()
    async with _following(feed, sub):
        sent = 0
        loop = asyncio.get_running_loop()
        end = loop.time() + 1.0
        while loop.time() < end:  # ~100 events/s for a second, over four departments
            await sub.queue.put(_Msg(f"d{sent % 4}"))
            sent += 1
            await asyncio.sleep(0.01)
        await feed.until_handled(sent)
        # One refresh for the first event, then one per 0.3 s window (not one per event).
        assert 2 <= len(feed.refreshes) <= 6, feed.refreshes
        assert sum(n for n, _ in feed.refreshes) == sent
        assert feed.refreshes[-1][1] <= {("c", f"d{i}") for i in range(4)}
        assert any(len(touched) == 4 for _, touched in feed.refreshes[1:])


async def test_a_pause_ends_the_window() -> None:
    feed, sub = _Feed(refresh_seconds=30.0), _Sub()
    async with _following(feed, sub):
        await sub.queue.put(_Msg("d1"))
        await feed.until_handled(1)
        # Within the (long) window: refreshed once the stream pauses, not when it ends.
        await sub.queue.put(_Msg("d2"))
        await sub.queue.put(_Msg("d3"))
        await feed.until_handled(3)
        assert feed.refreshes[1:] == [(2, {("c", "d2"), ("c", "d3")})]


async def test_more_events_than_one_fetch_make_one_refresh() -> None:
    feed, sub = _Feed(refresh_seconds=30.0), _Sub()
    async with _following(feed, sub):
        await sub.queue.put(_Msg("d1"))
        await feed.until_handled(1)
        # 1,200 events at once: three fetches of up to 500, then the pause; one refresh (a
        # full fetch is not a reason to refresh).
        for i in range(1_200):
            await sub.queue.put(_Msg(f"d{i % 3}"))
        await feed.until_handled(1_201)
        assert [n for n, _ in feed.refreshes] == [1, 1_200]


class _SlowFeed(_Feed):
    """A refresh that takes ``took`` seconds (a large organisation's grouped queries)."""

    def __init__(self, refresh_seconds: float, took: float) -> None:
        super().__init__(refresh_seconds)
        self.took = took
        self.spans: list[tuple[float, float]] = []

    async def handle(self, msgs: list[Any], touched: set[tuple[str, str]]) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(self.took)
        self.spans.append((start, loop.time()))
        await super().handle(msgs, touched)


async def test_a_slow_refresh_rests_before_the_next(monkeypatch: Any) -> None:
    monkeypatch.setattr(dashboard_feed, "MAX_PENDING", 40)
    feed, sub = _SlowFeed(refresh_seconds=0.01, took=0.06), _Sub()
    async with _following(feed, sub):
        sent = 0
        loop = asyncio.get_running_loop()
        end = loop.time() + 1.2
        while loop.time() < end:  # ~100 events/s, a 10 ms window: a refresh per pause before
            await sub.queue.put(_Msg(f"d{sent % 4}"))
            sent += 1
            await asyncio.sleep(0.01)
        await feed.until_handled(sent)
        # Each refresh took >= 60 ms, so the next started >= 9 x 60 ms after it ended, and
        # none held more than MAX_PENDING events (the feed stopped fetching meanwhile).
        rests = [b[0] - a[1] for a, b in zip(feed.spans, feed.spans[1:], strict=False)]
        assert rests and min(rests) >= 0.53, rests
        assert len(feed.refreshes) <= 4, feed.refreshes
        assert all(n <= 40 for n, _ in feed.refreshes), feed.refreshes
        assert sum(n for n, _ in feed.refreshes) == sent
