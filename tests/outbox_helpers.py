"""An outbox table in a scratch schema/file, for relay tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common import db
from services.common.outbox import add_event, new_event_meta, outbox_table
from services.common.settings import StrideSettings
from stride.identity.v1 import identity_pb2 as pb


@asynccontextmanager
async def scratch_outbox(
    database_url: str | None, data_dir: Path, schema: str = "relaytest"
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], Table, bool]]:
    settings = StrideSettings(database_url=database_url, data_dir=data_dir)
    engine = db.create_engine(settings, schema)
    metadata = MetaData()
    table = outbox_table(metadata)
    async with engine.begin() as conn:
        if db.is_postgres(engine):
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(metadata.create_all)
    try:
        yield db.session_factory(engine), table, db.is_postgres(engine)
    finally:
        await engine.dispose()


async def write_events(
    sessions: async_sessionmaker[AsyncSession], table: Table, n: int, subject: str
) -> list[str]:
    ids: list[str] = []
    async with sessions() as session, session.begin():
        for i in range(n):
            event = pb.DepartmentCreated(
                meta=new_event_meta("test"), department=pb.Department(id=str(i), name=f"D{i}")
            )
            ids.append(await add_event(session, table, subject, event))
    return ids


class FakeJetStream:
    """``publish_async`` like nats-py's: the message is sent at once, the returned future is
    its acknowledgement. ``fail_after``: messages beyond that many are refused (not stored);
    ``nak``: event ids whose acknowledgement fails although later ones succeed."""

    def __init__(self, fail_after: int | None = None, nak: set[str] | None = None) -> None:
        self.messages: list[tuple[str, bytes, dict[str, Any]]] = []
        self.fail_after = fail_after
        self.nak = set(nak or ())
        self.max_in_flight = 0
        self._acks: list[asyncio.Future[None]] = []

    async def publish_async(
        self,
        subject: str,
        payload: bytes = b"",
        wait_stall: float | None = None,
        stream: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> asyncio.Future[None]:
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            raise ConnectionError("nats down")
        headers = headers or {}
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if headers.get("Nats-Msg-Id") in self.nak:
            ack.set_exception(TimeoutError("no ack"))
        else:
            self.messages.append((subject, payload, headers))
            # Acknowledged on a later loop iteration, as over the network.
            asyncio.get_running_loop().call_soon(_acknowledge, ack)
        self._acks.append(ack)
        self.max_in_flight = max(self.max_in_flight, sum(not a.done() for a in self._acks))
        return ack


def _acknowledge(ack: asyncio.Future[None]) -> None:
    if not ack.done():  # the relay may have given up on it
        ack.set_result(None)
