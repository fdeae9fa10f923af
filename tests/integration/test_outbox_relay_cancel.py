"""The outbox relay stopped by a service shutting down (services/common/runtime.py cancels it
again every second until it ends: ``cancel_and_wait``): a cancellation that lands while it
rolls back or commits a batch does not cut that short, so no connection stays checked out in
its transaction (holding the batch's row locks) until the garbage collector finds it."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.outbox import OutboxRelay
from tests.outbox_helpers import FakeJetStream, scratch_outbox, write_events


class _SlowClose(AsyncSession):
    """A session whose close takes a while (a busy database), so a second cancellation
    lands inside it."""

    async def close(self) -> None:
        await asyncio.sleep(0.2)
        await super().close()


async def test_a_relay_cancelled_twice_while_it_winds_down_returns_its_connections(
    database_url: str | None, data_dir: Path
) -> None:
    async with scratch_outbox(database_url, data_dir, "relaycancel") as (plain, table, pg):
        await write_events(plain, table, 40, "stride.identity.v1.department.created")
        engine = plain.kw["bind"]
        sessions = async_sessionmaker(engine, class_=_SlowClose, expire_on_commit=False)
        publishing = asyncio.Event()

        async def slow_publish(_event_id: str) -> None:
            publishing.set()
            await asyncio.sleep(0.05)

        relay = OutboxRelay(
            sessions, table, FakeJetStream(), lock_rows=pg, after_publish=slow_publish
        )
        gc.disable()  # what is left checked out must not be tidied up behind the test's back
        try:
            task = asyncio.create_task(relay.drain())
            await publishing.wait()
            task.cancel()  # in the middle of a batch: its session is closed (rolled back) ...
            await asyncio.sleep(0.05)
            task.cancel()  # ... and cancelled again while that close runs
            done, _ = await asyncio.wait({task}, timeout=10)
            assert task in done and task.cancelled()
            assert engine.pool.checkedout() == 0
        finally:
            gc.enable()
        # Nothing of the interrupted batch was marked: it is all published again later.
        assert await OutboxRelay(plain, table, FakeJetStream(), lock_rows=pg).drain() == 40


async def test_a_relay_cancelled_just_as_it_hands_a_batch_to_be_marked_returns_it(
    database_url: str | None, data_dir: Path
) -> None:
    """The cancellation lands after the last acknowledgement, when the batch's marking task
    is created but has not run yet: the marking still runs to its commit (those events were
    acknowledged) and its connection goes back to the pool."""
    async with scratch_outbox(database_url, data_dir, "relaymark") as (plain, table, pg):
        await write_events(plain, table, 10, "stride.identity.v1.department.created")
        engine = plain.kw["bind"]
        acked: list[str] = []
        last = asyncio.Event()

        async def count(event_id: str) -> None:
            acked.append(event_id)
            if len(acked) == 10:
                last.set()  # no await after it: the relay goes straight on to the marking

        relay = OutboxRelay(plain, table, FakeJetStream(), lock_rows=pg, after_publish=count)
        gc.disable()
        try:
            task = asyncio.create_task(relay.drain())

            async def cancel_at_the_last_ack() -> None:
                await last.wait()
                task.cancel()

            canceller = asyncio.create_task(cancel_at_the_last_ack())
            done, _ = await asyncio.wait({task}, timeout=10)
            await canceller
            assert task in done
            assert engine.pool.checkedout() == 0
        finally:
            gc.enable()
        again = FakeJetStream()
        republished = await OutboxRelay(plain, table, again, lock_rows=pg).drain()
        if pg:  # the acknowledged batch was marked: nothing is published twice
            assert republished == 0
        else:  # one transaction per batch: published again under the same ids (deduplicated)
            assert {h["Nats-Msg-Id"] for _s, _p, h in again.messages} == set(acked)
