"""Outbox relay logic with a fake JetStream (the real one is in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.outbox import OutboxRelay
from tests.outbox_helpers import FakeJetStream, scratch_outbox, write_events


async def test_publishes_in_order_with_msg_id_and_marks(data_dir: Path) -> None:
    async with scratch_outbox(None, data_dir) as (sessions, table, _):
        ids = await write_events(sessions, table, 5, "stride.identity.v1.department.created")
        js = FakeJetStream()
        relay = OutboxRelay(sessions, table, js, batch_size=3)
        assert await relay.backlog() == 5
        assert await relay.relay_once() == 3
        assert await relay.relay_once() == 2
        assert await relay.relay_once() == 0
        assert [h["Nats-Msg-Id"] for _, _, h in js.messages] == ids
        assert await relay.backlog() == 0


async def test_failed_publish_keeps_the_rest_for_later(data_dir: Path) -> None:
    async with scratch_outbox(None, data_dir) as (sessions, table, _):
        ids = await write_events(sessions, table, 4, "s.x")
        js = FakeJetStream(fail_after=2)
        relay = OutboxRelay(sessions, table, js)
        with pytest.raises(ConnectionError):
            await relay.relay_once()
        # The two acknowledged rows are marked; the others wait.
        assert await relay.backlog() == 2
        js.fail_after = None
        assert await relay.relay_once() == 2
        assert [h["Nats-Msg-Id"] for _, _, h in js.messages] == ids


async def test_crash_between_publish_and_mark_republishes_same_ids(data_dir: Path) -> None:
    async with scratch_outbox(None, data_dir) as (sessions, table, _):
        ids = await write_events(sessions, table, 3, "s.x")
        js = FakeJetStream()

        async def crash(_event_id: str) -> None:
            raise RuntimeError("process killed")

        with pytest.raises(RuntimeError):
            await OutboxRelay(sessions, table, js, after_publish=crash).relay_once()
        assert await OutboxRelay(sessions, table, js).relay_once() == 3
        # First id published twice with the same Nats-Msg-Id: JetStream drops the copy.
        assert [h["Nats-Msg-Id"] for _, _, h in js.messages] == [ids[0], *ids]


async def test_failed_ack_in_the_middle_of_a_window_leaves_it_and_later_rows_for_retry(
    data_dir: Path,
) -> None:
    async with scratch_outbox(None, data_dir) as (sessions, table, _):
        ids = await write_events(sessions, table, 40, "s.x")
        js = FakeJetStream(nak={ids[20]})
        relay = OutboxRelay(sessions, table, js, window=8)
        with pytest.raises(TimeoutError):
            await relay.relay_once()
        # Pipelined (several acks outstanding at once, never more than the window) ...
        assert 1 < js.max_in_flight <= 8
        # ... and only the prefix before the failed ack is marked, although JetStream took
        # some later rows of the window.
        sent = [h["Nats-Msg-Id"] for _, _, h in js.messages]
        assert ids[21] in sent
        assert await relay.backlog() == 20
        js.nak.clear()
        assert await relay.relay_once() == 20
        assert await relay.backlog() == 0
        sent = [h["Nats-Msg-Id"] for _, _, h in js.messages]
        # Every row from the failed one on went out again, in order (the stream drops copies).
        assert sent[-20:] == ids[20:]
        assert sent[:20] == ids[:20]


async def test_commits_that_wake_a_busy_relay_share_one_pass(data_dir: Path) -> None:
    """Ten commits waking the relay within its minimum interval are published by one pass
    (one read and one mark for all), and every event still goes out in order."""
    import asyncio

    async with scratch_outbox(None, data_dir) as (sessions, table, _):
        js = FakeJetStream()
        relay = OutboxRelay(sessions, table, js, poll_interval=60, min_interval=3.0)
        passes: list[int] = []
        first_pass, all_out = asyncio.Event(), asyncio.Event()
        drain = relay.drain

        async def counted() -> int:
            n = await drain()
            passes.append(n)
            first_pass.set()
            if len(js.messages) >= 10:
                all_out.set()
            return n

        relay.drain = counted  # type: ignore[method-assign]
        task = asyncio.create_task(relay.run())
        try:
            await asyncio.wait_for(first_pass.wait(), 10)  # the empty outbox's pass
            ids: list[str] = []
            for _ in range(10):
                ids += await write_events(sessions, table, 1, "s.x")
                relay.wake()
            await asyncio.wait_for(all_out.wait(), 10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert passes == [0, 10]
        assert [h["Nats-Msg-Id"] for _, _, h in js.messages] == ids
