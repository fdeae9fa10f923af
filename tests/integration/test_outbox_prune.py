"""Published outbox rows are deleted after the retention (settings
``outbox_keep_published_hours``), unpublished ones never, against the real database and
JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.nats import connect, ensure_streams
from services.common.outbox import OutboxRelay
from tests.outbox_helpers import scratch_outbox, write_events
from tests.waiting import eventually


@dataclass
class Outbox:
    sessions: async_sessionmaker[AsyncSession]
    table: Table
    relay: OutboxRelay
    subject: str

    async def write(self, n: int) -> list[str]:
        return await write_events(self.sessions, self.table, n, self.subject)

    async def rows(self) -> dict[str, datetime | None]:
        """event id → published_at of every row left."""
        t = self.table
        async with self.sessions() as session:
            rows = await session.execute(select(t.c.event_id, t.c.published_at))
            return {event_id: published_at for event_id, published_at in rows}


@pytest.fixture
async def outbox(database_url: str | None, data_dir: Path, nats_url: str) -> AsyncIterator[Outbox]:
    subject = f"stride.identity.v1.prunetest.{uuid.uuid4().hex[:8]}"
    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        async with scratch_outbox(database_url, data_dir, "prunetest") as (sessions, table, pg):
            yield Outbox(sessions, table, OutboxRelay(sessions, table, js, lock_rows=pg), subject)
    finally:
        await nc.close()


async def test_rows_published_before_the_retention_are_deleted_and_unpublished_ones_kept(
    outbox: Outbox,
) -> None:
    relay, table = outbox.relay, outbox.table
    old = await outbox.write(7)
    assert await relay.drain() == 7
    recent = await outbox.write(3)
    assert await relay.drain() == 3
    waiting = await outbox.write(2)  # not published yet (NATS away, say)
    now = datetime.now(UTC)
    async with outbox.sessions() as session, session.begin():
        await session.execute(
            update(table)
            .where(table.c.event_id.in_(old))
            .values(published_at=now - timedelta(days=8))
        )
        # Written a month ago and still not published: kept whatever its age.
        await session.execute(
            update(table)
            .where(table.c.event_id.in_(waiting))
            .values(created_at=now - timedelta(days=30))
        )

    # Three rows per transaction: the seven old ones go in three passes.
    assert await relay.prune(now - timedelta(days=7), batch=3) == 7
    rows = await outbox.rows()
    assert set(rows) == {*recent, *waiting}
    assert [rows[e] for e in waiting] == [None, None]
    assert all(rows[e] is not None for e in recent)
    assert await relay.prune(now - timedelta(days=7)) == 0
    # The unpublished rows still go out once the stream is back.
    assert await relay.backlog() == 2
    assert await relay.drain() == 2


async def test_the_prune_loop_deletes_what_is_published_as_time_goes_by(outbox: Outbox) -> None:
    # A retention of three seconds, checked every 0.1 s.
    pruning = asyncio.create_task(outbox.relay.prune_forever(timedelta(seconds=3), 0.1))
    try:
        await outbox.write(5)
        assert await outbox.relay.drain() == 5
        await asyncio.sleep(0.3)
        assert len(await outbox.rows()) == 5  # published, not yet 3 s ago

        async def emptied() -> None:
            assert await outbox.rows() == {}

        await eventually(emptied, timeout=15)
    finally:
        pruning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pruning
