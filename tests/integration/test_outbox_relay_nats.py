"""The relay against real JetStream and the real database: a restart never duplicates."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from services.common.nats import IDENTITY_STREAM, connect, ensure_streams
from services.common.outbox import OutboxRelay
from tests.outbox_helpers import FakeJetStream, scratch_outbox, write_events


async def test_relay_killed_midway_yields_each_event_once_in_the_stream(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    subject = f"stride.identity.v1.relaytest.{uuid.uuid4().hex[:8]}"
    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        async with scratch_outbox(database_url, data_dir) as (sessions, table, pg):
            ids = await write_events(sessions, table, 20, subject)
            published: list[str] = []

            async def die_after_seven(event_id: str) -> None:
                published.append(event_id)
                if len(published) == 7:
                    raise RuntimeError("relay process killed after publishing, before marking")

            with pytest.raises(RuntimeError):
                await OutboxRelay(
                    sessions, table, js, lock_rows=pg, after_publish=die_after_seven
                ).relay_once()
            restarted = OutboxRelay(sessions, table, js, lock_rows=pg)
            while await restarted.relay_once():
                pass
            assert await restarted.backlog() == 0

        assert await _published_ids(js, subject) == ids
    finally:
        await nc.close()


async def test_drain_publishes_every_batch_once_in_order(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    # On PostgreSQL the next batch is published while the previous one commits.
    subject = f"stride.identity.v1.relaytest.{uuid.uuid4().hex[:8]}"
    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        async with scratch_outbox(database_url, data_dir) as (sessions, table, pg):
            ids = await write_events(sessions, table, 1_050, subject)
            relay = OutboxRelay(sessions, table, js, lock_rows=pg, batch_size=200)
            assert await relay.drain() == 1_050
            assert await relay.backlog() == 0
            assert await relay.drain() == 0

        assert await _published_ids(js, subject) == ids
    finally:
        await nc.close()


async def test_drain_stops_at_a_failed_ack_and_nothing_later_is_marked(
    database_url: str | None, data_dir: Path
) -> None:
    async with scratch_outbox(database_url, data_dir) as (sessions, table, pg):
        ids = await write_events(sessions, table, 500, "s.x")
        # The failed ack is in the third batch: the first two are marked (on PostgreSQL the
        # second commits while the third is being published), nothing from it on.
        js = FakeJetStream(nak={ids[250]})
        relay = OutboxRelay(sessions, table, js, lock_rows=pg, batch_size=100, window=16)
        with pytest.raises(TimeoutError):
            await relay.drain()
        assert await relay.backlog() == 250
        js.nak.clear()
        assert await relay.drain() == 250
        sent = [h["Nats-Msg-Id"] for _, _, h in js.messages]
        assert sent[:250] == ids[:250] and sent[-250:] == ids[250:]


async def _published_ids(js: Any, subject: str) -> list[str]:
    """The Nats-Msg-Id of every message on ``subject``, in stream order."""
    sub = await js.pull_subscribe(subject, durable=None, stream=IDENTITY_STREAM)
    got: list[str] = []
    while True:
        try:
            msgs = await sub.fetch(500, timeout=1)
        except TimeoutError:
            break
        for m in msgs:
            assert m.headers is not None
            got.append(m.headers["Nats-Msg-Id"])
            await m.ack()
    return got
